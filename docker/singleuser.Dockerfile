# The notebook image (singleuser.image in values.yaml): JupyterLab in Dutch, the pilot templates and pilots, the
# proeftuin package. Runs as the unprivileged user jovyan (uid 1000, group users/100), as z2jh expects.
# Build from the project folder: docker build -f docker/singleuser.Dockerfile -t REGISTRY/singleuser:VERSION .
FROM python:3.11.13-slim-bookworm

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    MLFLOW_DISABLE_TELEMETRY=true \
    DO_NOT_TRACK=true \
    PROEFTUIN_PILOTS_DIR=/opt/proeftuin/pilots

RUN useradd --create-home --uid 1000 --gid 100 --shell /bin/bash jovyan

WORKDIR /opt/proeftuin/src
COPY constraints.txt pyproject.toml README.md ./
COPY src ./src
# torch: the CPU build at the version constraints.txt pins (the default index would pull a multi-GB CUDA build).
RUN pip install --index-url https://download.pytorch.org/whl/cpu -c constraints.txt "torch==2.13.0" \
    && pip install -c constraints.txt ".[notebook,hub,gallery,docs,scale,embeddings]"

COPY templates /opt/proeftuin/templates
COPY pilots /opt/proeftuin/pilots
# JupyterLab's settings: Dutch by default (jupyterlab-language-pack-nl-NL), no calls to the internet.
COPY hub_config/jupyter /usr/local/etc/jupyter

USER 1000:100
WORKDIR /home/jovyan
EXPOSE 8888
CMD ["jupyterhub-singleuser"]
