# The platform's images. Build from the project folder:
#   docker build -f docker/platform.Dockerfile -t REGISTRY/platform:VERSION .            (MLflow, gallery, docs)
#   docker build -f docker/platform.Dockerfile --target hub -t REGISTRY/hub:VERSION .    (the hub)
# Both run unprivileged (uid 1000); the platform pods mount their state folder and /tmp, the rest is read-only.

# --- hub: the chart's own hub image (same version as the chart, JupyterHub 5.5.0) with Proeftuin's
# authenticators, Dutch pages and portal added; JupyterHub itself stays the chart's version.
FROM quay.io/jupyterhub/k8s-hub:4.4.0 AS hub
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /tmp/proeftuin
COPY --chown=1000:1000 pyproject.toml README.md constraints.txt ./
COPY --chown=1000:1000 src ./src
RUN pip install --user -c constraints.txt ".[scale]"
COPY --chown=1000:1000 pilots /opt/proeftuin/pilots
WORKDIR /srv/jupyterhub
USER 1000

# --- platform: MLflow (with its sign-on layer), the demo gallery and the docs site.
FROM python:3.11.13-slim-bookworm AS platform
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true \
    PROEFTUIN_PILOTS_DIR=/opt/proeftuin/pilots

RUN useradd --no-create-home --uid 1000 --gid 100 --shell /usr/sbin/nologin proeftuin

WORKDIR /opt/proeftuin/src
COPY constraints.txt pyproject.toml README.md mkdocs.yml ./
COPY src ./src
# torch: the CPU build pinned in constraints.txt (the kennisbank demo re-ranks with an embedding model).
RUN pip install --index-url https://download.pytorch.org/whl/cpu -c constraints.txt "torch==2.13.0" \
    && pip install -c constraints.txt ".[hub,gallery,docs,scale,embeddings]"

COPY docs /opt/proeftuin/src/docs
COPY templates /opt/proeftuin/templates
COPY pilots /opt/proeftuin/pilots

USER 1000:100
WORKDIR /opt/proeftuin/src
EXPOSE 8083 8084 8085
CMD ["python", "-m", "proeftuin.hub.proxy", "mlflow"]
