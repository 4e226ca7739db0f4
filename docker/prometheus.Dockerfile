# SPDX-License-Identifier: BSL-1.0
# Prometheus for docker/stack.yaml and docker/compose.yaml: Debian's
# prometheus package on debian:bookworm-slim, with docker/prometheus.yml.
# Build from the repository root:
#   docker build -f docker/prometheus.Dockerfile -t hash_prometheus .
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o prometheus -g prometheus /prometheus
COPY docker/prometheus.yml /etc/prometheus/prometheus.yml
USER prometheus
EXPOSE 9090
VOLUME /prometheus
ENTRYPOINT ["prometheus", "--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", \
            "--web.listen-address=:9090"]
