"""The local stack: the whole pipeline on a moto server and a local PostgreSQL.

``make local`` runs ``python -m ferry_dev.local up``:

1. starts a moto server and a PostgreSQL server (TLS, its own CA) in the
   background; ports, PIDs and logs live in the state directory ``.local/``;
2. builds the zip into ``.local/build`` with the server's own CA as
   ``RDS_CA_BUNDLE`` (the build's code path) and applies ``environments/local``
   (the same modules as dev, with the switches the emulator needs) against the
   moto server;
3. runs the migration function's code (``ferry.migrate_handler``) with the
   server's superuser in the stack's Secrets Manager secret (RDS-managed
   shape): datasets' tables, and the loader role ``ferry_loader`` with a
   password of its own (the emulator issues no RDS IAM tokens); the secret then
   holds the loader's login, which is what the processors use;
4. switches moto's IAM enforcement on (:meth:`Stack.setup_iam`): from then on
   the stack's own calls use an operator user, and each worker runs with the
   credentials of its function's role (``sts:AssumeRole`` on the emulator);
5. starts the workers: processes that poll a queue and run the real handler
   in-process with Lambda's SQS semantics (:mod:`ferry_dev.worker`): the
   processor on the ingest queue, the dead-letter consumer
   (``ferry.deadletter.handler``) on the DLQ;
6. uploads the sample set, shows progress, prints the summary table and
   leaves everything running.

``down`` stops everything by PID, ``status`` shows what runs, ``samples``
uploads another sample set, ``summary`` prints the table for what is in the
ledger. The :class:`Stack` class is what the end-to-end tests use.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry_dev import terraform as tf
from ferry_dev.report import print_summary, print_table, queue_depth, say
from ferry_dev.samples import build_samples, upload, wait_terminal
from ferry_dev.services import MotoServer, PostgresServer, ServiceError, free_port, set_auth

REPO = tf.REPO
ENV_DIR = REPO / "environments" / "local"
DEFAULT_STATE_DIR = REPO / ".local"
SOURCE_CONFIG = REPO / "lambda_src" / "config" / "ferry.json"
REGION = "eu-west-1"
HANDLER = "ferry.handler.handler"
DEADLETTER_HANDLER = "ferry.deadletter.handler"
#: The PostgreSQL role the processors log in as (created by the migration).
LOADER = "ferry_loader"
#: The IAM user the stack's own calls (uploads, reports, tests) use once IAM is enforced.
OPERATOR = "ferry-local-operator"
#: The moto server's process marker (its command line).
MOTO_MARKER = "motoserver"

#: Fake credentials: the emulator accepts any; these never leave the machine.
LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "ferrylocal",
    "AWS_SECRET_ACCESS_KEY": "ferrylocal",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}

#: Processing limits lowered for the local stack (documented in environments/local/README.md):
#: the oversize sample then only needs a few MB instead of more than 100 MB.
LOCAL_MAX_OBJECT_BYTES = 4 * 1024 * 1024

#: The local large-file route: CSV orders under this prefix larger than the threshold
#: go to the container lane (ferry_dev.lane runs the state machine's steps).
LARGE_PREFIX = "incoming/large/"
LOCAL_CONTAINER_THRESHOLD = 64 * 1024

#: Longest a Terraform command may run against the emulator (an apply takes a few minutes).
TERRAFORM_TIMEOUT = 1800


class LocalError(RuntimeError):
    """The local stack could not be brought up (the message says which step and why)."""


def pid_alive(pid: int | None, marker: str | None = None) -> bool:
    """True if ``pid`` runs (and its command line contains ``marker``: PIDs get reused)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if marker is None:
        return True
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return True  # no /proc (macOS): trust the PID
    return marker in cmdline


def stop_pid(pid: int, marker: str, *, group: bool = False, timeout: float = 15.0) -> bool:
    """SIGTERM ``pid`` (its process group with ``group``), SIGKILL after ``timeout``."""
    if not pid_alive(pid, marker):
        return False
    kill = os.killpg if group else os.kill
    with contextlib.suppress(ProcessLookupError):
        kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid, marker):
            return True
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        kill(pid, signal.SIGKILL)
    return True


@dataclass
class Stack:
    """One local stack, described by ``<state_dir>/state.json``."""

    state_dir: Path = DEFAULT_STATE_DIR
    state: dict[str, Any] = field(default_factory=dict)
    verbose: bool = True
    moto_env: dict[str, str] = field(default_factory=dict)  # extra settings of the emulator
    enforce_iam: bool = True  # moto checks every call against IAM once the stack is set up
    _clients: dict[tuple[str | None, ...], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _clients_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir).resolve()
        if self.state_file.exists():
            self.state = json.loads(self.state_file.read_text())

    # --- paths and state ---------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def pg_dir(self) -> Path:
        return self.state_dir / "postgres"

    @property
    def tf_state(self) -> Path:
        return self.state_dir / "terraform.tfstate"

    @property
    def config_path(self) -> Path:
        return self.state_dir / "ferry.json"

    @property
    def package(self) -> Path:
        """The zip Terraform is given: built for the local stack, with the local CA."""
        return self.state_dir / "build" / "processor.zip"

    def worker_config(self, function: str) -> Path:
        return self.state_dir / f"worker-{function}.json"

    def save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2, sort_keys=True))
        tmp.replace(self.state_file)

    def _say(self, message: str) -> None:
        if self.verbose:
            say(message)

    # --- services ------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.state['moto']['port']}"

    def moto_running(self) -> bool:
        return pid_alive(self.state.get("moto", {}).get("pid"), MOTO_MARKER)

    def postgres(self) -> PostgresServer:
        pg = self.state["postgres"]
        server = PostgresServer(base_dir=self.pg_dir, port=pg["port"])
        ca = self.pg_dir / "tls" / "ca.crt"
        if ca.exists():
            from ferry_dev.services import TLSFiles

            server.tls_files = TLSFiles(
                ca, self.pg_dir / "tls/server.crt", ca.parent / "server.key"
            )
        return server

    def postgres_running(self) -> bool:
        if "postgres" not in self.state:
            return False
        return pid_alive(self.postgres().pid, "postgres")

    def start_moto(self) -> None:
        if self.moto_running():
            self._say(f"moto server already running on {self.endpoint}")
            return
        server = MotoServer(log_file=self.state_dir / "moto.log", env=dict(self.moto_env))
        server.start()
        assert server.proc is not None
        self.state["moto"] = {"pid": server.proc.pid, "port": server.port}
        self.save()
        self._say(f"moto server on {self.endpoint} (pid {server.proc.pid})")

    def start_postgres(self) -> None:
        if self.postgres_running():
            self._say(f"PostgreSQL already running on 127.0.0.1:{self.state['postgres']['port']}")
            return
        port = self.state.get("postgres", {}).get("port") or free_port()
        server = PostgresServer(base_dir=self.pg_dir, port=port)
        try:
            server.start()
        except ServiceError:
            # a port taken since the last run: try a fresh one once
            server = PostgresServer(base_dir=self.pg_dir, port=free_port())
            server.start()
        self.state["postgres"] = {"port": server.port, "pid": server.pid}
        self.save()
        self._say(f"PostgreSQL on 127.0.0.1:{server.port} with TLS (pid {server.pid})")

    def stop_postgres(self) -> None:
        if "postgres" in self.state and self.postgres_running():
            self.postgres().stop()

    # --- terraform ---------------------------------------------------------------------

    def _tf_env(self) -> dict[str, str]:
        return tf.base_env(
            {
                **LOCAL_AWS_ENV,
                "TF_DATA_DIR": str(self.state_dir / "tf-data"),
                "TF_PLUGIN_CACHE_DIR": str(_plugin_cache()),
                "TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE": "true",
            }
        )

    def _terraform(self, *args: str, log_name: str, progress: bool = False) -> None:
        log_path = self.state_dir / log_name
        cmd = [tf.terraform_bin(), *args]
        started = time.monotonic()
        created = 0
        with open(log_path, "w") as log_file:
            proc = subprocess.Popen(
                cmd,
                cwd=ENV_DIR,
                env=self._tf_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
            )
            assert proc.stdout is not None
            timed_out = threading.Event()

            def stop() -> None:
                timed_out.set()
                proc.kill()

            watchdog = threading.Timer(TERRAFORM_TIMEOUT, stop)
            watchdog.start()
            try:
                for line in proc.stdout:
                    log_file.write(line)
                    if progress and ": Creation complete" in line:
                        created += 1
                        if self.verbose and created % 10 == 0:
                            elapsed = time.monotonic() - started
                            say(f"  ... {created} resources created ({elapsed:.0f}s)")
                rc = proc.wait()
            finally:
                watchdog.cancel()
        if timed_out.is_set():
            raise LocalError(
                f"terraform {args[0]} timed out after {TERRAFORM_TIMEOUT}s (log: {log_path})"
            )
        if rc != 0:
            text = log_path.read_text(errors="replace")
            if not os.environ.get("TF_MIRROR") and tf.registry_failure(text):
                raise LocalError(f"{tf.NO_PROVIDER_SOURCE} (full log: {log_path})")
            tail = "\n".join(text.splitlines()[-40:])
            raise LocalError(f"terraform {args[0]} failed (full log: {log_path}):\n{tail}")

    def apply(self) -> dict[str, Any]:
        """Init and apply environments/local against the emulator; returns its outputs."""
        if not self.package.exists():
            self.build_package()
        (_plugin_cache()).mkdir(parents=True, exist_ok=True)
        init = ["init", "-no-color", "-input=false", f"-backend-config=path={self.tf_state}"]
        if (ENV_DIR / ".terraform.lock.hcl").exists():
            init.append("-lockfile=readonly")
        self._terraform(*init, log_name="terraform-init.log")
        tfvars = self.state_dir / "local.auto.tfvars.json"
        tfvars.write_text(
            json.dumps(
                {
                    "endpoint": self.endpoint,
                    "region": REGION,
                    "database": {"host": "localhost", "port": self.state["postgres"]["port"]},
                    "package_path": str(self.package),
                    # The file the workers load (FERRY_CONFIG_PATH): Terraform derives
                    # the queue's filters and FERRY_CONFIG_SHA256 from the same bytes.
                    "processing_config_path": str(self.config_path),
                }
            )
        )
        started = time.monotonic()
        self._say("terraform apply environments/local (against the emulator) ...")
        apply = ("apply", "-no-color", "-input=false", "-auto-approve", f"-var-file={tfvars}")
        try:
            self._terraform(*apply, log_name="terraform-apply.log", progress=True)
        except LocalError as err:
            # The emulator's development HTTP server sometimes drops a kept-alive
            # connection under load. Apply is idempotent: finish the rest once.
            if not any(m in str(err) for m in _DROPPED_CONNECTION):
                raise
            self._say("  the emulator dropped a request; applying the rest once more")
            self._terraform(*apply, log_name="terraform-apply-2.log", progress=True)
        out = subprocess.run(
            [tf.terraform_bin(), "output", "-json"],
            cwd=ENV_DIR,
            env=self._tf_env(),
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        outputs = flatten_outputs(json.loads(out.stdout))
        self.state["outputs"] = outputs
        self.state["apply_seconds"] = round(time.monotonic() - started, 1)
        self.save()
        self._say(f"applied in {self.state['apply_seconds']:.0f}s")
        return outputs

    # --- configuration for the processors ---------------------------------------------------

    @property
    def outputs(self) -> dict[str, Any]:
        if "outputs" not in self.state:
            raise LocalError("the local stack has not been applied: run `make local`")
        return self.state["outputs"]

    def _credentials_env(self, name: str | None) -> dict[str, str]:
        """Credentials: the assumed role ``name``'s, else the operator's, else the set-up ones."""
        creds = self.state.get("credentials", {}).get(name or "") or self.state.get("operator")
        if not creds:
            return dict(LOCAL_AWS_ENV)
        env = {
            **LOCAL_AWS_ENV,
            "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        }
        if creds.get("SessionToken"):
            env["AWS_SESSION_TOKEN"] = creds["SessionToken"]
        return env

    def aws_env(self) -> dict[str, str]:
        """The operator's environment (uploads, reports, tests)."""
        return {**self._credentials_env(None), "AWS_ENDPOINT_URL": self.endpoint}

    def function_env(self) -> dict[str, str]:
        """What the processors see: the pipeline's function environment, the role's credentials."""
        env = {
            **self._credentials_env("processor"),
            "AWS_ENDPOINT_URL": self.endpoint,
            **self.outputs["function_environment"],
            "FERRY_DB_SSLROOTCERT": str(self.pg_dir / "tls" / "ca.crt"),
            "FERRY_CONFIG_PATH": str(self.config_path),
            "AWS_LAMBDA_FUNCTION_NAME": "ferry-local-processor",
        }
        return env

    def deadletter_env(self) -> dict[str, str]:
        """The dead-letter consumer's environment (the contract's four settings)."""
        fn = self.outputs["function_environment"]
        return {
            **self._credentials_env("deadletter"),
            "AWS_ENDPOINT_URL": self.endpoint,
            "FERRY_LEDGER_TABLE": fn["FERRY_LEDGER_TABLE"],
            "FERRY_LOG_LEVEL": fn.get("FERRY_LOG_LEVEL", "INFO"),
            "FERRY_METRICS_NAMESPACE": fn.get("FERRY_METRICS_NAMESPACE", "Ferry"),
            "FERRY_ROLE": "deadletter",
            "FERRY_CONFIG_PATH": str(self.config_path),
            "AWS_LAMBDA_FUNCTION_NAME": "ferry-local-deadletter",
            # File events, as the pipeline gives the consumer in AWS.
            **{
                k: v
                for k, v in self.outputs.get("deadletter_environment", {}).items()
                if k.startswith("FERRY_EVENT_")
            },
        }

    def client(self, service: str, role: str | None = None) -> Any:
        """A client as the operator, or as function ``role`` (processor, deadletter).

        Clients are kept per service, credentials and endpoint (making one costs
        tens of milliseconds of CPU; a burst of uploads made a thousand). boto3
        clients are safe to share between threads.
        """
        import boto3

        env = self._credentials_env(role)
        key = (
            service,
            env["AWS_ACCESS_KEY_ID"],
            env["AWS_SECRET_ACCESS_KEY"],
            env.get("AWS_SESSION_TOKEN"),
            self.endpoint,
        )
        with self._clients_lock:
            client = self._clients.get(key)
            if client is None:
                client = boto3.session.Session(
                    aws_access_key_id=key[1],
                    aws_secret_access_key=key[2],
                    aws_session_token=key[3],
                    region_name=REGION,
                ).client(service, endpoint_url=self.endpoint)
                self._clients[key] = client
        return client

    def max_receive_count(self) -> int:
        cached = self.state.get("max_receive_count")
        if cached:
            return int(cached)
        attrs = self.client("sqs").get_queue_attributes(
            QueueUrl=self.outputs["queue_url"], AttributeNames=["RedrivePolicy"]
        )["Attributes"]
        count = int(json.loads(attrs["RedrivePolicy"])["maxReceiveCount"])
        self.state["max_receive_count"] = count
        self.save()
        return count

    def write_config(self) -> Path:
        """The processing configuration with the local limits (see LOCAL_MAX_OBJECT_BYTES)."""
        config = json.loads(SOURCE_CONFIG.read_text())
        config.setdefault("limits", {})["max_object_bytes"] = LOCAL_MAX_OBJECT_BYTES
        if "orders" in config.get("datasets", {}):
            config["routes"].insert(
                0,
                {
                    "name": "large-orders",
                    "description": "Orders CSV over the threshold: the container lane.",
                    "prefix": LARGE_PREFIX,
                    "suffix": ".csv",
                    "processor": "csv_postgres",
                    "dataset": "orders",
                    "size_threshold_bytes": LOCAL_CONTAINER_THRESHOLD,
                },
            )
        for route in config.get("routes", []):
            if "max_bytes" in route:
                route["max_bytes"] = min(int(route["max_bytes"]), LOCAL_MAX_OBJECT_BYTES)
        self.config_path.write_text(json.dumps(config, indent=2))
        return self.config_path

    def build_package(self) -> Path:
        """The zip for Terraform, with the local server's CA packed (RDS_CA_BUNDLE's code path)."""
        from ferry_dev import build

        ca = self.pg_dir / "tls" / "ca.crt"
        try:
            build.build(self.package.parent, "x86_64", config=self.config_path, rds_ca_bundle=ca)
        except build.BuildError as err:
            raise LocalError(f"building the zip failed: {err}") from err
        return self.package

    def _put_secret(self, username: str, password: str) -> None:
        self.client("secretsmanager").put_secret_value(
            SecretId=self.outputs["database_secret_arn"],
            SecretString=json.dumps({"username": username, "password": password}),
        )

    def migrate(self) -> None:
        """The migration function's code, as the master user; then the processors' login.

        The secret first holds the server's superuser (as RDS's master secret
        does), the migration creates ``ferry_loader`` with a password of its own
        (``FERRY_DB_LOADER_PASSWORD``: the emulator issues no RDS IAM tokens),
        and the secret then holds that login, which is what the processors use.
        """
        pg = self.postgres()
        loader_password = self.state.setdefault("loader_password", secrets.token_urlsafe(24))
        self.save()
        self._put_secret(pg.user, pg.password)
        import hashlib

        event = {
            "action": "migrate",
            "config_sha256": hashlib.sha256(self.config_path.read_bytes()).hexdigest(),
        }
        env = {
            **os.environ,
            **self.function_env(),
            **self.aws_env(),
            "FERRY_DB_MASTER_SECRET_ARN": self.outputs["database_secret_arn"],
            "FERRY_DB_USER": LOADER,
            "FERRY_DB_LOADER_PASSWORD": loader_password,
            "PYTHONPATH": str(REPO / "lambda_src"),
        }
        code = (
            "import json, sys; from ferry.migrate_handler import handler; "
            "print(json.dumps(handler(json.loads(sys.argv[1]), None)))"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code, json.dumps(event)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        (self.state_dir / "migrate.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise LocalError(f"migrations failed:\n{(proc.stderr or proc.stdout).strip()}")
        self._put_secret(LOADER, loader_password)
        self._say(f"dataset migrations applied; processors log in as {LOADER}")

    # --- the large-file lane -------------------------------------------------------------

    def setup_container_lane(self) -> str | None:
        """Create the state machine the function hands large objects to, from the module's file.

        environments/local names it (existing_container_state_machine_arn); the
        emulator stores it and its executions, ``ferry_dev.lane`` runs them.
        """
        from ferry_dev import stepfunctions

        arn = self.outputs["function_environment"].get("FERRY_STATE_MACHINE_ARN")
        if not arn:
            return None
        name = arn.rsplit(":", 1)[1]
        account = arn.split(":")[4]
        definition = stepfunctions.render(self.container_values())
        sfn = self.client("stepfunctions")
        existing = {
            m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]
        }
        if name in existing:
            sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(definition))
        else:
            sfn.create_state_machine(
                name=name,
                definition=json.dumps(definition),
                roleArn=f"arn:aws:iam::{account}:role/{name}-states",
                type="STANDARD",
            )
        self.state["container_lane"] = {"state_machine_arn": arn}
        self.save()
        self._say(f"container lane: state machine {name} (steps run by ferry_dev.lane)")
        return arn

    def container_values(self) -> dict[str, Any]:
        """What Terraform passes the definition template, for the local stand-ins."""
        account = self.outputs["function_environment"]["FERRY_STATE_MACHINE_ARN"].split(":")[4]
        return {
            "partition": "aws",
            "ledger_table": self.outputs["function_environment"]["FERRY_LEDGER_TABLE"],
            "cluster_arn": f"arn:aws:ecs:{REGION}:{account}:cluster/local",
            "task_definition_arn": f"arn:aws:ecs:{REGION}:{account}:task-definition/local",
            "container_name": "ferry",
            "subnet_ids": ["subnet-0000000000000000a"],
            "security_group_ids": ["sg-0000000000000000a"],
            "task_timeout_seconds": 600,
            "task_max_attempts": 3,
            "retry_interval_seconds": 1,
        }

    def task_env(self) -> dict[str, str]:
        """The container's environment: the function's settings, the secret injected as ECS does.

        The task runs with the processor role's credentials (the task role's
        stand-in) and never reads Secrets Manager itself: the secret's JSON is
        read here, as the execution role would, and set as FERRY_DB_SECRET.
        """
        env = {
            k: v
            for k, v in self.function_env().items()
            if k
            not in {
                "FERRY_STATE_MACHINE_ARN",
                "FERRY_CONTAINER_LEASE_SECONDS",
                "FERRY_DB_SECRET_ARN",
            }
        }
        secret = self.client("secretsmanager").get_secret_value(
            SecretId=self.outputs["database_secret_arn"]
        )["SecretString"]
        env["FERRY_DB_SECRET"] = secret
        env["AWS_LAMBDA_FUNCTION_NAME"] = "ferry-local-task"
        return env

    # --- IAM -----------------------------------------------------------------------------

    def role_arns(self) -> dict[str, str | None]:
        """Execution roles Terraform created on the emulator (None: not created)."""
        out = self.outputs
        return {
            "processor": out.get("role_arn"),
            "deadletter": out.get("deadletter_role_arn"),
        }

    def setup_iam(self) -> None:
        """Assume each function's role, create the operator, then enforce IAM on every call."""
        self.relax_iam()  # set-up runs with the set-up credentials, unchecked
        roles = self.role_arns()
        if not self.enforce_iam or not roles["processor"]:
            reason = (
                "switched off"
                if not self.enforce_iam
                else "environments/local created no processor role (role_arn is null)"
            )
            self.state["iam"] = {"enforced": False, "reason": reason}
            self.save()
            self._say(f"IAM not enforced: {reason}")
            return
        iam = self.client("iam")
        if OPERATOR not in [u["UserName"] for u in iam.list_users()["Users"]]:
            iam.create_user(UserName=OPERATOR)
            iam.put_user_policy(
                UserName=OPERATOR,
                PolicyName="operator",
                PolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                    }
                ),
            )
        for old in iam.list_access_keys(UserName=OPERATOR)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=OPERATOR, AccessKeyId=old["AccessKeyId"])
        key = iam.create_access_key(UserName=OPERATOR)["AccessKey"]
        sts = self.client("sts")
        credentials = {}
        for name, arn in roles.items():
            if arn:
                credentials[name] = sts.assume_role(
                    RoleArn=arn, RoleSessionName=f"ferry-local-{name}"
                )["Credentials"]
        self.state["operator"] = {
            "AccessKeyId": key["AccessKeyId"],
            "SecretAccessKey": key["SecretAccessKey"],
        }
        self.state["credentials"] = {
            n: {k: c[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
            for n, c in credentials.items()
        }
        set_auth(self.endpoint, 0)
        self.state["iam"] = {"enforced": True, "roles": roles}
        self.save()
        missing = [n for n, arn in roles.items() if not arn]
        self._say(
            "IAM enforced: workers run with their roles' credentials"
            + (f" ({', '.join(missing)} has no role: runs as the operator)" if missing else "")
        )

    def relax_iam(self) -> None:
        """Stop enforcing (before Terraform runs again); :meth:`setup_iam` switches it back on."""
        if self.moto_running():
            set_auth(self.endpoint, float("inf"))
        for name in ("iam", "operator", "credentials"):
            self.state.pop(name, None)
        self.save()

    # --- workers -------------------------------------------------------------------------

    def _write_worker(
        self, function: str, handler: str, env: dict[str, str], source: dict[str, Any]
    ) -> Path:
        path = self.worker_config(function)
        path.write_text(
            json.dumps({"environment": env, "handler": handler, "event_source": source}, indent=2)
        )
        path.chmod(0o600)
        return path

    def start_workers(self, count: int = 2, *, batch_size: int = 10) -> list[int]:
        """``count`` processor workers on the ingest queue, one dead-letter consumer on the DLQ."""
        self.stop_workers()
        outputs = self.outputs
        timeout = float(outputs["function_timeout_seconds"])
        dlq_arn = (
            outputs.get("dlq_arn")
            or self.client("sqs").get_queue_attributes(
                QueueUrl=outputs["dlq_url"], AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
        )
        configs = [
            self._write_worker(
                "processor",
                HANDLER,
                self.function_env(),
                {
                    "queue_url": outputs["queue_url"],
                    "queue_arn": outputs["queue_arn"],
                    "function_name": "ferry-local-processor",
                    "batch_size": batch_size,
                    "function_timeout": timeout,
                    "region": REGION,
                },
            )
        ] * count
        configs.append(
            self._write_worker(
                "deadletter",
                DEADLETTER_HANDLER,
                self.deadletter_env(),
                {
                    "queue_url": outputs["dlq_url"],
                    "queue_arn": dlq_arn,
                    "function_name": "ferry-local-deadletter",
                    "batch_size": 10,
                    "function_timeout": timeout,
                    "region": REGION,
                },
            )
        )
        pids = []
        for n, config in enumerate(configs):
            args = [sys.executable, "-m", "ferry_dev.worker", "--config", str(config)]
            log = open(self.state_dir / f"worker-{n}.log", "ab")  # noqa: SIM115
            proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": str(REPO / "lambda_src")},
                start_new_session=True,
            )
            log.close()
            pids.append(proc.pid)
        self.state["workers"] = pids
        self.save()
        self._say(
            f"{count} workers polling the ingest queue, 1 on the dead-letter queue"
            f" (pids {', '.join(map(str, pids))})"
        )
        return pids

    def stop_workers(self) -> None:
        for pid in self.state.get("workers", []):
            stop_pid(pid, "ferry_dev.worker")
        self.state["workers"] = []
        if self.state:
            self.save()

    # --- whole stack -----------------------------------------------------------------------

    def up(self, *, workers: int = 2) -> None:
        tf.provider_source()  # no provider mirror or registry: say so before starting anything
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.state and not self.moto_running():
            # The emulator's memory is gone: so is everything the old state describes.
            self.down(quiet=True)
        self.start_moto()
        self.relax_iam()  # Terraform and the set-up below run before enforcement
        self.start_postgres()
        self.write_config()
        self.build_package()
        self.apply()
        self.migrate()
        self.setup_container_lane()
        self.setup_iam()
        if workers:
            self.start_workers(workers)

    def down(self, *, quiet: bool = False) -> None:
        stopped = []
        for pid in self.state.get("workers", []):
            if stop_pid(pid, "ferry_dev.worker"):
                stopped.append(f"worker {pid}")
        if "postgres" in self.state and self.postgres_running():
            pid = self.postgres().pid
            self.stop_postgres()
            stopped.append(f"PostgreSQL {pid}")
        moto = self.state.get("moto", {})
        if moto and stop_pid(moto["pid"], MOTO_MARKER, group=True):
            stopped.append(f"moto server {moto['pid']}")
        # Terraform state describes the emulator's memory, which is gone now.
        for path in (self.tf_state, self.tf_state.with_suffix(".tfstate.backup")):
            path.unlink(missing_ok=True)
        self.state = (
            {"postgres": {"port": self.state["postgres"]["port"]}}
            if "postgres" in self.state
            else {}
        )
        self.state_file.unlink(missing_ok=True)
        if not quiet:
            say("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))

    def status(self) -> list[tuple[str, str, str]]:
        """(component, state, detail) rows."""
        rows: list[tuple[str, str, str]] = []
        moto = self.state.get("moto")
        rows.append(
            (
                "moto server",
                "running" if self.moto_running() else "stopped",
                f"{self.endpoint} pid {moto['pid']}" if moto else "-",
            )
        )
        pg = self.state.get("postgres")
        rows.append(
            (
                "PostgreSQL",
                "running" if self.postgres_running() else "stopped",
                f"127.0.0.1:{pg['port']} pid {self.postgres().pid}"
                if pg and self.postgres_running()
                else "-",
            )
        )
        for pid in self.state.get("workers", []):
            rows.append(
                (
                    "worker",
                    "running" if pid_alive(pid, "ferry_dev.worker") else "stopped",
                    f"pid {pid}",
                )
            )
        if self.moto_running() and "outputs" in self.state:
            sqs = self.client("sqs")
            for name, key in (("ingest queue", "queue_url"), ("dead-letter queue", "dlq_url")):
                visible, hidden = queue_depth(sqs, self.outputs[key])
                rows.append((name, f"{visible} waiting", f"{hidden} in flight"))
        return rows


_DROPPED_CONNECTION = (
    "use of closed network connection",
    "connection reset by peer",
    "EOF",
    # moto 5.2 now and then answers the provider's revoke of a new security
    # group's default egress rule with InvalidPermission.NotFound (the rule it
    # has just created); applying again finishes the group.
    "InvalidPermission.NotFound",
)


def flatten_outputs(raw: Mapping[str, Any]) -> dict[str, Any]:
    """``terraform output -json`` as name -> value; the ``ferry`` output's keys at the top.

    Environments expose the composition's outputs as one object, ``ferry``; a
    root's own outputs of the same name win.
    """
    values = {k: v["value"] if isinstance(v, dict) and "value" in v else v for k, v in raw.items()}
    composition = values.get("ferry")
    if isinstance(composition, dict):
        return {**composition, **{k: v for k, v in values.items() if k != "ferry"}}
    return values


def _plugin_cache() -> Path:
    return REPO / ".cache" / "tf-plugin-cache"


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_samples(stack: Stack, timeout: float = 180.0) -> bool:
    """Upload the sample set, show progress, print the summary; True if all went as expected."""
    config = json.loads(stack.config_path.read_text())
    run = time.strftime("%Y%m%dT%H%M%S")
    samples = build_samples(config, run, LOCAL_MAX_OBJECT_BYTES)
    say(
        f"\nuploading {len(samples)} sample files"
        f" to s3://{stack.outputs['bucket_names']['raw']}/ ..."
    )
    uploads = upload(stack, samples)
    items = wait_terminal(stack, uploads, timeout)
    say("")
    problems = print_summary(stack, uploads=uploads, items=items)
    return not problems


def _usage(stack: Stack) -> None:
    out = stack.outputs
    raw = out["bucket_names"]["raw"]
    say("")
    say("The stack keeps running. Upload more files with the AWS CLI, for example:")
    say(
        f"  AWS_ACCESS_KEY_ID=ferrylocal AWS_SECRET_ACCESS_KEY=ferrylocal AWS_REGION={REGION} \\\n"
        f"    aws --endpoint-url {stack.endpoint} s3 cp orders.csv s3://{raw}/incoming/orders/orders.csv"
    )
    say(
        "  prefixes: incoming/orders/*.csv  incoming/telemetry/*.json|*.jsonl"
        "  incoming/reports/*.json  incoming/documents/*"
    )
    say("  results:  make local-status  ·  .venv/bin/python -m ferry_dev.local summary")
    say(f'  PostgreSQL: psql "{stack.postgres().dsn(sslmode="verify-full")}"')
    say("  logs: .local/worker-*.log, .local/moto.log, .local/postgres/postgres.log")
    say("  stop everything: make local-down")


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ferry_dev.local",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start (or refresh) the stack, run the sample set")
    up.add_argument("--workers", type=int, default=2)
    up.add_argument("--no-samples", action="store_true")
    sub.add_parser("down", help="stop everything by PID")
    sub.add_parser("status", help="what runs, and the queues' depths")
    samples = sub.add_parser("samples", help="upload a fresh sample set and wait for it")
    samples.add_argument("--timeout", type=float, default=180.0)
    sub.add_parser("summary", help="the summary table of every file in the ledger")
    args = parser.parse_args(argv)
    stack = Stack(args.state_dir)
    started = time.monotonic()
    try:
        if args.command == "up":
            stack.up(workers=args.workers)
            ok = run_samples(stack) if not args.no_samples else True
            _usage(stack)
            say(f"\nmake local: ready in {time.monotonic() - started:.0f}s")
            return 0 if ok else 1
        if args.command == "down":
            stack.down()
            return 0
        if args.command == "status":
            print_table(stack.status(), ("component", "state", "detail"))
            return 0
        if args.command == "samples":
            return 0 if run_samples(stack, timeout=args.timeout) else 1
        if args.command == "summary":
            print_summary(stack)
            return 0
    except (LocalError, ServiceError, tf.TerraformError) as err:
        say(f"error: {err}")
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
