# Shared helpers over `terraform show -json` plan documents.
#
# Provider v4+ splits one logical thing (a bucket, a VPC, a database) across
# several resources. The helpers below join them two ways, so that values known
# only after apply never cause a false alarm:
#
#   1. by configuration reference: the attribute's expression in
#      `configuration` (root_module / module_calls) names the target resource,
#      possibly through `each.value`, `each.key`, `count.index`, a module input
#      variable or a module output;
#   2. by known value: the attribute's planned value equals a known attribute
#      of the target (for example `bucket` = the bucket's name).
#
# Environment detection ("in prod" rules): a resource is in prod when its
# planned `tags_all.Environment` (provider default_tags included) is "prod" or
# "production"; a resource without that tag follows the plan's root variable
# `environment`.
package ferry.lib

import rego.v1

# --- resources ----------------------------------------------------------------

# Managed resources that exist after the change (creates, updates, no-ops,
# replacements); pure deletes are left out.
managed := [rc | some rc in input.resource_changes; rc.mode == "managed"; not deleted(rc)]

deleted(rc) if rc.change.actions == ["delete"]

# positions in resource_changes by type (sets of numbers stay cheap; sets of
# whole resource objects do not)
type_index[t] contains i if {
	some i
	rc := input.resource_changes[i]
	rc.mode == "managed"
	not deleted(rc)
	t := rc.type
}

of_type(t) := [input.resource_changes[i] | some i in object.get(type_index, t, set())]

# Planned data sources (aws_iam_policy_document and friends).
data_reads := [rc | some rc in input.resource_changes; rc.mode == "data"]

after(rc) := object.get(rc.change, "after", {})

after_unknown(rc) := object.get(rc.change, "after_unknown", {})

# attribute value known at plan time (null counts as known and unset)
known(rc, attr) if not after_unknown(rc)[attr] == true

unknown(rc, attr) if after_unknown(rc)[attr] == true

# attribute set: a non-null, non-empty value, or a value only known after apply
# that the configuration assigns (an unset optional+computed attribute is
# unknown too, so the configuration decides; without configuration, an unknown
# value gets the benefit of the doubt)
is_set(rc, attr) if {
	unknown(rc, attr)
	configured(rc, attr)
}

is_set(rc, attr) if {
	unknown(rc, attr)
	not config_of(rc)
}

configured(rc, attr) if config_of(rc).expressions[attr]

is_set(rc, attr) if {
	v := after(rc)[attr]
	v != null
	v != ""
	v != []
	v != {}
}

# first element of a nested block list, or {} when absent
block(obj, name) := b if {
	bs := object.get(obj, name, [])
	is_array(bs)
	count(bs) > 0
	b := bs[0]
} else := {}

blocks(obj, name) := [b | some b in object.get(obj, name, []); b != null]

as_array(x) := x if is_array(x)

as_array(x) := [x] if {
	not is_array(x)
	x != null
}

as_array(x) := [] if x == null

# --- environment ----------------------------------------------------------------

prod_names := {"prod", "production"}

plan_environment := lower(input.variables.environment.value) if {
	is_string(input.variables.environment.value)
} else := ""

in_prod(rc) if {
	env := after(rc).tags_all.Environment
	lower(env) in prod_names
}

in_prod(rc) if {
	not has_env_tag(rc)
	plan_environment in prod_names
}

has_env_tag(rc) if is_string(after(rc).tags_all.Environment)

# --- addresses and configuration --------------------------------------------------

module_of(rc) := object.get(rc, "module_address", "")

# "module.a[\"x\"].module.b" -> "module.a.module.b": configuration has no instances
static_module(addr) := regex.replace(addr, `\[[^\]]*\]`, "")

# every module's configuration, keyed by its static module address ("" = root);
# modules nest up to four levels deep
module_configs[""] := input.configuration.root_module

module_configs[p] := m if {
	some a
	m := input.configuration.root_module.module_calls[a].module
	p := concat("", ["module.", a])
}

module_configs[p] := m if {
	some a, b
	m := input.configuration.root_module.module_calls[a].module.module_calls[b].module
	p := concat("", ["module.", a, ".module.", b])
}

module_configs[p] := m if {
	some a, b, c
	m := input.configuration.root_module.module_calls[a].module.module_calls[b].module.module_calls[c].module
	p := concat("", ["module.", a, ".module.", b, ".module.", c])
}

module_configs[p] := m if {
	some a, b, c, d
	m := input.configuration.root_module.module_calls[a].module.module_calls[b].module.module_calls[c].module.module_calls[d].module
	p := concat("", ["module.", a, ".module.", b, ".module.", c, ".module.", d])
}

# every resource's configuration, keyed by "<static module>|<address>"
configs[key] := c if {
	some prefix
	mod := module_configs[prefix]
	some c in object.get(mod, "resources", [])
	key := concat("|", [prefix, c.address])
}

config_of(rc) := c if {
	c := object.get(configs, concat("|", [static_module(module_of(rc)), config_address(rc)]), null)
	c != null
}

config_address(rc) := concat(".", [rc.type, rc.name]) if rc.mode == "managed"

config_address(rc) := concat(".", ["data", rc.type, rc.name]) if rc.mode == "data"

expression(rc, attr) := object.get(config_of(rc), ["expressions", attr], {})

references(rc, attr) := object.get(expression(rc, attr), "references", [])

has_index(rc) if object.get(rc, "index", null) != null

# References resolved to targets: {"module": instance address of the module,
# "base": "type.name" or "data.type.name", "index": key, or "*" for any}.
targets(rc, attr) := targets_of(rc, config_of(rc), attr)

targets_of(rc, conf, attr) := ((direct_targets(rc, refs) | each_targets(rc, conf, refs)) | var_targets(rc, refs)) | output_targets(rc, refs) if {
	refs := object.get(conf, ["expressions", attr, "references"], [])
}

# plain resource references; `each.key` / `count.index` next to an unindexed
# reference mean "the instance with my own key"
direct_targets(rc, refs) := {t |
	some r in refs
	ref := parse_ref(r)
	t := {"module": module_of(rc), "base": ref.base, "index": ref_index(ref, rc, refs)}
}

ref_index(ref, _, _) := ref.index if ref.index != null

ref_index(ref, rc, refs) := implied_index(rc, refs) if ref.index == null

# each.value of a for_each over a resource: the instance with the same key
each_targets(rc, conf, refs) := {t |
	some r in refs
	startswith(r, "each.value")
	some r2 in object.get(conf, ["for_each_expression", "references"], [])
	ref := parse_ref(r2)
	t := {"module": module_of(rc), "base": ref.base, "index": object.get(rc, "index", "*")}
}

# var.X inside a module: the module call's argument, one level up
var_targets(rc, refs) := {t |
	some r in refs
	startswith(r, "var.")
	name := split(r, ".")[1]
	module := module_of(rc)
	module != ""
	some r2 in object.get(module_call_args, concat("|", [static_module(module), name]), [])
	ref := parse_ref(r2)
	t := {"module": parent_module(module), "base": ref.base, "index": any_if_null(ref.index)}
}

# module.M.output: the output's expression inside the module
output_targets(rc, refs) := {t |
	some r in refs
	startswith(r, "module.")
	parts := split(r, ".")
	count(parts) >= 3
	call := concat("", ["module.", strip_index(parts[1])])
	key := concat("|", [join_nonempty([static_module(module_of(rc)), call]), strip_index(parts[2])])
	some r2 in object.get(output_refs, key, [])
	ref := parse_ref(r2)
	t := {"module": join_nonempty([module_of(rc), call]), "base": ref.base, "index": any_if_null(ref.index)}
}

# the references of every module call argument, by "<static module>|<variable>"
module_call_args[key] := refs if {
	some prefix
	mod := module_configs[prefix]
	some name
	call := mod.module_calls[name]
	some v
	refs := call.expressions[v].references
	key := concat("|", [join_nonempty([prefix, concat("", ["module.", name])]), v])
}

# the references of every module output, by "<static module>|<output>"
output_refs[key] := refs if {
	some prefix
	mod := module_configs[prefix]
	some name
	refs := mod.outputs[name].expression.references
	key := concat("|", [prefix, name])
}

join_nonempty(parts) := concat(".", [p | some p in parts; p != ""])

any_if_null(i) := "*" if i == null

any_if_null(i) := i if i != null

implied_index(rc, refs) := rc.index if {
	some r in refs
	r in {"each.key", "count.index"}
	has_index(rc)
} else := "*"

# "aws_s3_bucket.data[\"raw\"].id" -> {"base": "aws_s3_bucket.data", "index": "raw"}
parse_ref(r) := {"base": base, "index": idx} if {
	parts := split(r, ".")
	not parts[0] in {"var", "local", "each", "count", "path", "module", "self", "terraform"}
	parts[0] != "data"
	count(parts) >= 2
	base := concat(".", [parts[0], strip_index(parts[1])])
	idx := literal_index(parts[1])
}

parse_ref(r) := {"base": base, "index": idx} if {
	parts := split(r, ".")
	parts[0] == "data"
	count(parts) >= 3
	base := concat(".", ["data", parts[1], strip_index(parts[2])])
	idx := literal_index(parts[2])
}

strip_index(s) := regex.replace(s, `\[.*$`, "")

# the last index only: `module.a[0].module.b[0]` -> 0 (a greedy match would hand
# `0].module.b[0` to json.unmarshal, which regopy reports on stderr)
literal_index(s) := json.unmarshal(m[1]) if {
	m := regex.find_all_string_submatch_n(`\[([^\[\]]*)\]$`, s, 1)[0]
} else := null

parent_module(addr) := "" if {
	count(split(addr, ".module.")) == 1
}

parent_module(addr) := p if {
	segs := split(addr, ".module.")
	count(segs) > 1
	p := concat(".module.", array.slice(segs, 0, count(segs) - 1))
}

# instances by "<module instance>|<type.name>", for resolving references
instance_index[key] contains i if {
	some i
	rc := input.resource_changes[i]
	key := concat("|", [module_of(rc), config_address(rc)])
}

# every attribute that references resources of this plan:
# "<child address>|<attribute>" -> positions of the referenced instances
resolved[key] := targets if {
	some i
	rc := input.resource_changes[i]
	conf := config_of(rc)
	some attr
	conf.expressions[attr].references
	targets := [j |
		some t in targets_of(rc, conf, attr)
		some j in object.get(instance_index, concat("|", [t.module, t.base]), set())
		index_matches(t.index, input.resource_changes[j])
	]
	count(targets) > 0
	key := concat("|", [rc.address, attr])
}

# every resolved reference, as "<child address>|<attribute>|<target address>"
edges contains concat("|", [key, input.resource_changes[j].address]) if {
	some key
	some j in resolved[key]
}

# true when `child.attr` references the resource instance `target`
references_resource(child, attr, target) if concat("|", [child.address, attr, target.address]) in edges

index_matches("*", _) := true

index_matches(i, target) if {
	i != "*"
	object.get(target, "index", null) == i
}

# true when the known value of `child.attr` equals a known value of one of the
# target's attributes (e.g. bucket name, id, arn)
value_matches(child, attr, target, target_attrs) if {
	known(child, attr)
	v := after(child)[attr]
	is_string(v)
	v != ""
	some ta in target_attrs
	known(target, ta)
	after(target)[ta] == v
}

# the join: child belongs to target by reference or by known value
joined(child, attr, target, target_attrs) if references_resource(child, attr, target)

joined(child, attr, target, target_attrs) if value_matches(child, attr, target, target_attrs)

# a child whose attr is neither known nor resolvable to any resource: it may
# belong to any target, so rules that need "some child" must not fire on its type
unresolved(child, attr) if {
	unknown(child, attr)
	object.get(resolved, concat("|", [child.address, attr]), null) == null
}

# --- IAM policy documents --------------------------------------------------------

# Statements of a policy attribute, normalised to
# {"effect", "actions", "not_actions", "resources", "principals": [{"type", "ids"}],
#  "not_principals", "conditions": [{"test", "variable", "values"}]}.
# Known JSON is parsed; an unknown policy built by an aws_iam_policy_document
# data source is read from that data source's planned statement blocks.
statements(rc, attr) := array.concat(json_statements(rc, attr), document_statements(rc, attr))

json_statements(rc, attr) := [s |
	known(rc, attr)
	some st in document(object.get(after(rc), attr, null))
	s := normalise_json_statement(st)
]

# the statements of a policy document given as JSON text
document(doc) := as_array(object.get(json.unmarshal(doc), "Statement", [])) if {
	is_string(doc)
	json.is_valid(doc)
} else := []

document_statements(rc, attr) := [s |
	unknown(rc, attr)
	some d in policy_documents(rc, attr)
	some s in data_document_statements(d)
]

# the aws_iam_policy_document data sources an unknown policy attribute is built from
policy_documents(rc, attr) := [d |
	some t in targets(rc, attr)
	startswith(t.base, "data.aws_iam_policy_document.")
	some d in data_reads
	module_of(d) == t.module
	config_address(d) == t.base
	index_matches(t.index, d)
]

# statement blocks, plus the statements of known source and override documents
data_document_statements(d) := array.concat(
	[s | some st in blocks(after(d), "statement"); s := normalise_block_statement(st)],
	[s |
		some attr in ["source_policy_documents", "override_policy_documents"]
		some doc in null_to_empty(object.get(after(d), attr, []))
		some st in document(doc)
		s := normalise_json_statement(st)
	],
)

# --- could not evaluate -----------------------------------------------------------
#
# An unknown value never passes silently: a policy attribute the rules cannot
# read at plan time is reported by the package's FERRY-<DOMAIN>-UNKNOWN rule.

# the policy attribute is unknown and not fully readable from the data sources
# that build it
policy_unreadable(rc, attr) if {
	unknown(rc, attr)
	count(policy_documents(rc, attr)) == 0
}

policy_unreadable(rc, attr) if {
	unknown(rc, attr)
	some d in policy_documents(rc, attr)
	document_partly_unknown(d)
}

# statements, their actions or effects, or source documents known only after apply
document_partly_unknown(d) if after_unknown(d).statement == true

document_partly_unknown(d) if {
	some attr in ["source_policy_documents", "override_policy_documents"]
	after_unknown(d)[attr] == true
}

document_partly_unknown(d) if {
	some attr in ["source_policy_documents", "override_policy_documents"]
	some flag in object.get(after_unknown(d), attr, [])
	flag == true
}

document_partly_unknown(d) if {
	some st in object.get(after_unknown(d), "statement", [])
	some field in ["actions", "not_actions", "effect"]
	unknown_anywhere(object.get(st, field, false))
}

unknown_anywhere(x) if x == true

unknown_anywhere(x) if {
	is_array(x)
	some y in x
	y == true
}

# "<rule ids> could not be evaluated: <why>; <how to make it readable>"
unknown_msg(rules, id, address, checks, why) := msg(rules, id, address, concat("", ["could not evaluate ", checks, ": ", why, "; make the value known at plan time (a literal, an input, or an aws_iam_policy_document whose statements do not depend on apply-time values) or waive this finding"]))

normalise_json_statement(st) := {
	"effect": object.get(st, "Effect", "Allow"),
	"actions": as_array(object.get(st, "Action", [])),
	"not_actions": as_array(object.get(st, "NotAction", [])),
	"resources": as_array(object.get(st, "Resource", [])),
	"principals": json_principals(object.get(st, "Principal", null)),
	"not_principals": json_principals(object.get(st, "NotPrincipal", null)),
	"conditions": [c |
		conds := object.get(st, "Condition", {})
		some test
		vars := conds[test]
		some variable
		values := vars[variable]
		c := {"test": test, "variable": variable, "values": as_array(values)}
	],
}

json_principals(p) := [] if p == null

json_principals(p) := [{"type": "*", "ids": ["*"]}] if p == "*"

json_principals(p) := [{"type": t, "ids": as_array(ids)} | some t; ids := p[t]] if is_object(p)

normalise_block_statement(st) := {
	"effect": effect_or_allow(object.get(st, "effect", null)),
	"actions": object.get(st, "actions", []),
	"not_actions": object.get(st, "not_actions", []),
	"resources": object.get(st, "resources", []),
	"principals": [{"type": p.type, "ids": p.identifiers} | some p in blocks(st, "principals")],
	"not_principals": [{"type": p.type, "ids": p.identifiers} | some p in blocks(st, "not_principals")],
	"conditions": [{"test": c.test, "variable": c.variable, "values": c.values} | some c in blocks(st, "condition")],
}

effect_or_allow(e) := "Allow" if e == null

effect_or_allow(e) := e if e != null

null_to_empty(x) := [] if x == null

null_to_empty(x) := x if x != null

# a principal that means "anyone"
wildcard_principal(st) if {
	some p in st.principals
	some id in null_to_empty(p.ids)
	id == "*"
}

has_condition_key(st, keys) if {
	some c in st.conditions
	lower(c.variable) in keys
}

# --- messages ----------------------------------------------------------------------

# "FERRY-S3-001 (high): <address>: <what is wrong>; <how to fix>"
msg(rules, id, address, text) := concat("", [id, " (", rules[id].severity, "): ", address, ": ", text])
