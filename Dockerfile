# syntax=docker/dockerfile:1
# The large-file lane's image: `python -m ferry.task` runs ferry's own processors
# (modules/container's task definition). It is made from the Lambda zip that
# `make build` writes, so the code, the dependencies, the processing
# configuration (FERRY_CONFIG_SHA256) and the RDS CA bundle are byte for byte the
# function's. Build and push: README.md, "Container image".
#
# The base is pinned by digest (python:3.12-slim-bookworm, the Lambda runtime's
# Python): update the digest on purpose, never a tag alone.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# `make build ARCH=x86_64` (or arm64, with `docker build --platform linux/arm64`)
COPY build/processor.zip /tmp/processor.zip
RUN python -m zipfile -e /tmp/processor.zip /app \
 # The Lambda runtime provides boto3; a container brings its own (the versions ferry is tested with).
 && python -m pip install --only-binary=:all: --no-compile --target /app \
      boto3==1.35.49 botocore==1.35.99 s3transfer==0.10.4 jmespath==1.1.0 \
      python-dateutil==2.9.0.post0 six==1.17.0 urllib3==2.8.0 \
 # Compiled now: the root filesystem is read-only at run time.
 && python -m compileall -q /app

FROM ${PYTHON_IMAGE}
ENV PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp \
    HOME=/tmp
# Owned by root and not writable by the user the task runs as.
COPY --from=build --chown=0:0 /app /app
WORKDIR /app
# The only writable path at run time is /tmp, a task volume (readonlyRootFilesystem).
VOLUME ["/tmp"]
# Non-root: the task definition's user (modules/container `user`) says the same.
USER 10001:10001
CMD ["python", "-m", "ferry.task"]
