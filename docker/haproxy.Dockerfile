# HAProxy front for docker/compose.yaml: Debian's haproxy package with
# docker/haproxy.cfg. Build from the repository root:
#   docker build -f docker/haproxy.Dockerfile -t hash_haproxy .
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/*
COPY docker/haproxy.cfg /etc/haproxy/haproxy.cfg
USER haproxy
EXPOSE 8080
# -db: stay in the foreground, log to stdout; `docker run IMAGE -c` checks the config.
ENTRYPOINT ["haproxy", "-f", "/etc/haproxy/haproxy.cfg"]
CMD ["-db"]
