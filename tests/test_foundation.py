"""The foundation works for real: PostgreSQL over verified TLS, S3 and SQS on
the moto server, and Terraform through the provider mirror (plan JSON + an
apply against the emulator)."""

from __future__ import annotations

import boto3
import psycopg
import pytest

from ferry_dev import terraform as tf

SMOKE = "tests/fixtures/tf_smoke"


@pytest.mark.postgres
def test_sql_round_trip_over_verified_tls(postgres):
    with psycopg.connect(postgres.dsn(sslmode="verify-full")) as conn:
        assert conn.info.pgconn.ssl_in_use
        conn.execute("CREATE TEMP TABLE t (id int PRIMARY KEY, name text)")
        conn.execute("INSERT INTO t VALUES (%s, %s), (%s, %s)", (1, "a,b", 2, "c\nd"))
        rows = conn.execute("SELECT id, name FROM t ORDER BY id").fetchall()
    assert rows == [(1, "a,b"), (2, "c\nd")]


@pytest.mark.postgres
def test_tls_verification_rejects_wrong_host_name(postgres):
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        psycopg.connect(postgres.dsn(sslmode="verify-full", host="not-the-server"))


@pytest.mark.postgres
def test_tls_verification_rejects_unknown_ca(postgres, tmp_path):
    from ferry_dev.services import make_tls

    other = make_tls(tmp_path / "other")
    with pytest.raises(psycopg.OperationalError, match="SSL error"):
        psycopg.connect(postgres.dsn(sslmode="verify-full", sslrootcert=str(other.ca_cert)))


@pytest.mark.moto
def test_s3_put_get_on_moto(aws):
    s3 = aws("s3")
    s3.create_bucket(
        Bucket="ferry-foundation", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    s3.put_object(Bucket="ferry-foundation", Key="incoming/a b.csv", Body=b"id\n1\n")
    got = s3.get_object(Bucket="ferry-foundation", Key="incoming/a b.csv")
    assert got["Body"].read() == b"id\n1\n"


@pytest.mark.moto
def test_sqs_send_receive_on_moto(aws):
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="ferry-foundation")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody='{"hello": "ferry"}')
    msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in msgs] == ['{"hello": "ferry"}']


@pytest.mark.terraform
def test_plan_json_through_provider_mirror(tf_root):
    plan = tf_root(SMOKE).plan_json(variables={"bucket_name": "ferry-plan-check"})
    changes = {rc["address"]: rc for rc in plan["resource_changes"]}
    assert set(changes) == {"aws_s3_bucket.smoke", "aws_s3_bucket_versioning.smoke"}
    assert all(rc["change"]["actions"] == ["create"] for rc in changes.values())
    assert changes["aws_s3_bucket.smoke"]["change"]["after"]["bucket"] == "ferry-plan-check"
    versioning = changes["aws_s3_bucket_versioning.smoke"]["change"]["after"]
    assert versioning["versioning_configuration"][0]["status"] == "Enabled"
    provider = plan["configuration"]["provider_config"]["aws"]
    assert provider["full_name"] == "registry.terraform.io/hashicorp/aws"


@pytest.mark.terraform
@pytest.mark.moto
def test_apply_against_moto_endpoints(tf_root, moto_server, tmp_path):
    root = tf_root(SMOKE)
    state = tmp_path / "smoke.tfstate"
    variables = f"-var=endpoint={moto_server.endpoint_url}"
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    root.run("apply", "-auto-approve", "-no-color", f"-state={state}", variables, extra_env=env)
    out = root.run("output", "-json", f"-state={state}", extra_env=env).stdout
    assert '"ferry-smoke-bucket"' in out
    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint_url, region_name="eu-west-1")
    status = s3.get_bucket_versioning(Bucket="ferry-smoke-bucket")["Status"]
    assert status == "Enabled"
    root.run("destroy", "-auto-approve", "-no-color", f"-state={state}", variables, extra_env=env)
    assert "ferry-smoke-bucket" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_missing_mirror_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("TF_MIRROR", str(tmp_path))
    with pytest.raises(tf.TerraformError, match=r"does not hold hashicorp/aws 5\.100\.0"):
        tf.cli_config()
