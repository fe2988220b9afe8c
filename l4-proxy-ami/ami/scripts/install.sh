#!/bin/sh
# Runs inside the Packer build (Debian 12): installs Temurin 25, the AWS CLI and the proxy with
# its units. Files were uploaded to /tmp/marchproxy-l4 by the Packer file provisioner.
set -eux
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends ca-certificates curl gnupg awscli libbpf1 # libbpf: the XDP fast path
install -d -m 0755 /etc/apt/keyrings
curl -fsSL https://packages.adoptium.net/artifactory/api/gpg/key/public | gpg --dearmor -o /etc/apt/keyrings/adoptium.gpg
echo "deb [signed-by=/etc/apt/keyrings/adoptium.gpg] https://packages.adoptium.net/artifactory/deb bookworm main" >/etc/apt/sources.list.d/adoptium.list
apt-get update -q
apt-get install -y -q --no-install-recommends temurin-25-jdk
ln -sfn "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")" /usr/lib/jvm/temurin-25-jdk

id marchproxy >/dev/null 2>&1 || useradd --system --home-dir /var/lib/marchproxy-l4 --shell /usr/sbin/nologin marchproxy
install -d -m 0755 /opt/marchproxy/l4-proxy /opt/marchproxy/l4-proxy/lib
install -d -m 0750 -o root -g marchproxy /etc/marchproxy
install -m 0644 /tmp/marchproxy-l4/l4-proxy.jar /opt/marchproxy/l4-proxy/l4-proxy.jar
cp /tmp/marchproxy-l4/lib/*.jar /opt/marchproxy/l4-proxy/lib/
install -m 0755 /tmp/marchproxy-l4/fetch-cluster-key.sh /opt/marchproxy/l4-proxy/fetch-cluster-key.sh
install -m 0644 /tmp/marchproxy-l4/marchproxy-l4.service /etc/systemd/system/marchproxy-l4.service
install -m 0644 /tmp/marchproxy-l4/marchproxy-l4-key.service /etc/systemd/system/marchproxy-l4-key.service
# Kernel settings for a proxy: many connections, ports outside the mapping range.
cat >/etc/sysctl.d/60-marchproxy-l4.conf <<SYSCTL
net.core.somaxconn = 65535
net.ipv4.tcp_max_syn_backlog = 65535
net.ipv4.ip_local_port_range = 32768 60999
net.core.netdev_max_backlog = 16384
fs.file-max = 2097152
SYSCTL
# Enabled by cloud-init once /etc/marchproxy/l4.env exists (an image boots nothing by itself).
systemctl daemon-reload
rm -rf /tmp/marchproxy-l4
