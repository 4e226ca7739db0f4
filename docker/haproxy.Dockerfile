# HAProxy front: Debian's haproxy package with docker/haproxy.cfg (static
# replicas, the default) and docker/haproxy-dns.cfg (replicas found by DNS, as
# docker/stack.yaml and docker/compose.yaml run it). Build from the repository root:
#   docker build -f docker/haproxy.Dockerfile -t hash_haproxy .
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/*
COPY docker/haproxy.cfg docker/haproxy-dns.cfg /etc/haproxy/
USER haproxy
# HAProxy as PID 1 ignores SIGTERM and SIGINT, so `docker stop` would wait for
# its timeout and kill it; SIGUSR1 is its soft stop: it stops listening, lets
# the connections it carries finish (hard-stop-after in haproxy-dns.cfg bounds
# that) and exits 0.
STOPSIGNAL SIGUSR1
EXPOSE 8080
# -db: stay in the foreground, log to stdout; `docker run IMAGE -c` checks the config.
ENTRYPOINT ["haproxy", "-f", "/etc/haproxy/haproxy.cfg"]
CMD ["-db"]
