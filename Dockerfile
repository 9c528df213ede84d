# strongroom: one node per container. Build: docker build -t strongroom .
# The image holds the runtime dependencies only (no test tools), pinned by constraints.txt.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN python -m venv /opt/strongroom \
    && /opt/strongroom/bin/pip install --no-cache-dir --upgrade pip \
    && /opt/strongroom/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 strongroom \
    && useradd --system --uid 10001 --gid strongroom --home-dir /var/lib/strongroom \
        --shell /usr/sbin/nologin strongroom \
    && mkdir -p /var/lib/strongroom /var/lib/strongroom-ca \
    && chown strongroom:strongroom /var/lib/strongroom /var/lib/strongroom-ca \
    && chmod 0700 /var/lib/strongroom /var/lib/strongroom-ca
COPY --from=build /opt/strongroom /opt/strongroom
ENV PATH=/opt/strongroom/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STRONGROOM_DATA_DIR=/var/lib/strongroom \
    STRONGROOM_HOST=0.0.0.0 \
    STRONGROOM_PORT=8200
USER 10001:10001
WORKDIR /var/lib/strongroom
VOLUME ["/var/lib/strongroom"]
EXPOSE 8200
# The health check speaks plain Python (no curl in the image); it trusts the node's CA.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os,ssl,sys,urllib.request as u; d=os.environ['STRONGROOM_DATA_DIR']; ca=os.environ.get('STRONGROOM_TLS_CA_DIR') or d; c=None if os.environ.get('STRONGROOM_TLS_DISABLE')=='true' else ssl.create_default_context(cafile=ca+'/ca.pem'); s='http' if c is None else 'https'; sys.exit(0 if u.urlopen(s+'://127.0.0.1:'+os.environ.get('STRONGROOM_PORT','8200')+'/api/v1/sys/health', context=c, timeout=2).status==200 else 1)"]
ENTRYPOINT ["strongroom"]
CMD ["server"]
