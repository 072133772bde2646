# Network: no world-open ingress, no public IPs outside public subnets, VPC
# flow logs, a closed default security group, databases off the internet.
# "From the internet" is read from the prefix length, not the text: any IPv4
# source wider than /8 (0.0.0.0/0, or 0.0.0.0/1 + 128.0.0.0/1) and any IPv6
# source wider than /16 (::/0, 2000::/3) counts, whatever its spelling.
package ferry.network

import data.ferry.lib
import rego.v1

rules := {
	"FERRY-NET-001": {
		"severity": "high",
		"title": "No security group ingress from the IPv4 internet (0.0.0.0/0 or any source wider than /8)",
		"controls": ["CIS 5.2", "FSBP EC2.53", "CIS8 4.4", "CIS8 12.2"],
	},
	"FERRY-NET-002": {
		"severity": "high",
		"title": "No security group ingress from the IPv6 internet (::/0 or any source wider than /16)",
		"controls": ["CIS 5.3", "FSBP EC2.54", "CIS8 4.4", "CIS8 12.2"],
	},
	"FERRY-NET-003": {
		"severity": "medium",
		"title": "Only public subnets assign public IPs on launch",
		"controls": ["FSBP EC2.15", "CIS8 12.2"],
	},
	"FERRY-NET-004": {
		"severity": "medium",
		"title": "Every VPC has flow logs",
		"controls": ["CIS 3.7", "FSBP EC2.6", "CIS8 8.2", "CIS8 13.6"],
	},
	"FERRY-NET-005": {
		"severity": "medium",
		"title": "Every VPC's default security group is managed and has no rules",
		"controls": ["CIS 5.4", "FSBP EC2.2", "CIS8 4.4"],
	},
	"FERRY-NET-006": {
		"severity": "critical",
		"title": "Databases are not publicly accessible",
		"controls": ["CIS 2.3.3", "FSBP RDS.2", "CIS8 3.3", "CIS8 12.2"],
	},
	"FERRY-NET-007": {
		"severity": "high",
		"title": "No network ACL allows ingress from the internet to SSH (22) or RDP (3389)",
		"controls": ["CIS 5.1", "FSBP EC2.21", "CIS8 4.4", "CIS8 12.2"],
	},
}

# IPv4 sources wider than /8 and IPv6 sources wider than /16
wide_v4(c) if {
	is_string(c)
	regex.match(`^[0-9.]+/[0-9]+$`, trim_space(c))
	to_number(split(trim_space(c), "/")[1]) < 8
}

wide_v6(c) if {
	is_string(c)
	regex.match(`^[0-9a-fA-F:.]+/[0-9]+$`, trim_space(c))
	to_number(split(trim_space(c), "/")[1]) < 16
}

# [address, cidr] for every ingress source on security groups, in the three
# shapes the provider offers
ingress_v4 contains [sg.address, port_text(r), c] if {
	some sg in lib.of_type("aws_security_group")
	some r in lib.blocks(lib.after(sg), "ingress")
	some c in lib.null_to_empty(r.cidr_blocks)
	wide_v4(c)
}

ingress_v4 contains [r.address, port_text(lib.after(r)), c] if {
	some r in lib.of_type("aws_security_group_rule")
	lib.after(r).type == "ingress"
	some c in lib.null_to_empty(lib.after(r).cidr_blocks)
	wide_v4(c)
}

ingress_v4 contains [r.address, rule_port_text(lib.after(r)), c] if {
	some r in lib.of_type("aws_vpc_security_group_ingress_rule")
	c := lib.after(r).cidr_ipv4
	wide_v4(c)
}

ingress_v6 contains [sg.address, port_text(r), c] if {
	some sg in lib.of_type("aws_security_group")
	some r in lib.blocks(lib.after(sg), "ingress")
	some c in lib.null_to_empty(r.ipv6_cidr_blocks)
	wide_v6(c)
}

ingress_v6 contains [r.address, port_text(lib.after(r)), c] if {
	some r in lib.of_type("aws_security_group_rule")
	lib.after(r).type == "ingress"
	some c in lib.null_to_empty(lib.after(r).ipv6_cidr_blocks)
	wide_v6(c)
}

ingress_v6 contains [r.address, rule_port_text(lib.after(r)), c] if {
	some r in lib.of_type("aws_vpc_security_group_ingress_rule")
	c := lib.after(r).cidr_ipv6
	wide_v6(c)
}

port_text(r) := concat("", ["ports ", format_int(r.from_port, 10), "-", format_int(r.to_port, 10), "/", r.protocol]) if {
	is_number(r.from_port)
	is_number(r.to_port)
} else := "all ports"

rule_port_text(r) := port_text(r) if r.ip_protocol != "-1" else := "all ports"

deny contains msg if {
	some pair in ingress_v4
	addr := pair[0]
	ports := pair[1]
	msg := lib.msg(rules, "FERRY-NET-001", addr, concat("", ["allows ingress from ", pair[2], ", the internet or a large part of it (", ports, "); allow only the security groups or VPC CIDRs that need access, and reach hosts through SSM Session Manager instead of SSH"]))
}

deny contains msg if {
	some pair in ingress_v6
	addr := pair[0]
	ports := pair[1]
	msg := lib.msg(rules, "FERRY-NET-002", addr, concat("", ["allows ingress from ", pair[2], ", the internet or a large part of it (", ports, "); allow only the security groups or VPC CIDRs that need access"]))
}

# --- FERRY-NET-003 -------------------------------------------------------------------

public_subnet(s) if lower(object.get(lib.after(s), ["tags_all", "Tier"], "")) == "public"

public_subnet(s) if contains(lower(object.get(lib.after(s), ["tags_all", "Name"], "")), "public")

public_subnet(s) if contains(lower(s.name), "public")

public_subnet(s) if contains(lower(object.get(s, "index", "")), "public")

deny contains msg if {
	some s in lib.of_type("aws_subnet")
	lib.after(s).map_public_ip_on_launch == true
	not public_subnet(s)
	msg := lib.msg(rules, "FERRY-NET-003", s.address, "a private or isolated subnet assigns public IPs on launch; set map_public_ip_on_launch = false (only subnets tagged Tier = \"public\" may)")
}

# --- FERRY-NET-004 -------------------------------------------------------------------

flow_logged(vpc) if {
	some f in lib.of_type("aws_flow_log")
	lib.joined(f, "vpc_id", vpc, ["id"])
}

flow_ambiguous if {
	some f in lib.of_type("aws_flow_log")
	lib.unresolved(f, "vpc_id")
}

deny contains msg if {
	some vpc in lib.of_type("aws_vpc")
	not flow_logged(vpc)
	not flow_ambiguous
	msg := lib.msg(rules, "FERRY-NET-004", vpc.address, "no VPC flow logs; add an aws_flow_log with vpc_id set to this VPC and traffic_type = \"ALL\"")
}

# --- FERRY-NET-005 -------------------------------------------------------------------

default_sgs(vpc) := [d | some d in lib.of_type("aws_default_security_group"); lib.joined(d, "vpc_id", vpc, ["id"])]

has_rules(d, kind) if count(lib.blocks(lib.after(d), kind)) > 0

has_rules(d, kind) if {
	lib.unknown(d, kind)
	lib.configured(d, kind)
}

deny contains msg if {
	some vpc in lib.of_type("aws_vpc")
	count(default_sgs(vpc)) == 0
	not default_sg_ambiguous
	msg := lib.msg(rules, "FERRY-NET-005", vpc.address, "the default security group is left as AWS creates it (all egress, ingress from itself); add an aws_default_security_group for this VPC with no ingress or egress blocks")
}

default_sg_ambiguous if {
	some d in lib.of_type("aws_default_security_group")
	lib.unresolved(d, "vpc_id")
}

deny contains msg if {
	some d in lib.of_type("aws_default_security_group")
	some kind in ["ingress", "egress"]
	has_rules(d, kind)
	msg := lib.msg(rules, "FERRY-NET-005", d.address, concat("", ["the default security group has ", kind, " rules; remove them so that nothing can use the default group"]))
}

# --- FERRY-NET-006 -------------------------------------------------------------------

deny contains msg if {
	some t in ["aws_db_instance", "aws_rds_cluster_instance"]
	some db in lib.of_type(t)
	lib.after(db).publicly_accessible == true
	msg := lib.msg(rules, "FERRY-NET-006", db.address, "the database is publicly accessible; set publicly_accessible = false and keep it in isolated subnets")
}

# --- FERRY-NET-007 -------------------------------------------------------------------

admin_ports := [22, 3389]

covers_admin_port(r) if {
	lower(sprintf("%v", [r.protocol])) in {"-1", "all"}
}

covers_admin_port(r) if {
	lower(sprintf("%v", [r.protocol])) in {"6", "tcp", "17", "udp"}
	some p in admin_ports
	r.from_port <= p
	p <= r.to_port
}

world_source(r) if wide_v4(object.get(r, "cidr_block", ""))

world_source(r) if wide_v6(object.get(r, "ipv6_cidr_block", ""))

deny contains msg if {
	some r in lib.of_type("aws_network_acl_rule")
	a := lib.after(r)
	a.egress == false
	a.rule_action == "allow"
	world_source(a)
	covers_admin_port(a)
	msg := lib.msg(rules, "FERRY-NET-007", r.address, "the network ACL allows SSH or RDP from the internet; narrow the port range or the source CIDR")
}

deny contains msg if {
	some t in ["aws_network_acl", "aws_default_network_acl"]
	some acl in lib.of_type(t)
	some e in lib.blocks(lib.after(acl), "ingress")
	lower(e.action) == "allow"
	world_source(e)
	covers_admin_port(e)
	msg := lib.msg(rules, "FERRY-NET-007", acl.address, "an ingress entry allows SSH or RDP from the internet; narrow the port range or the source CIDR")
}
