#!/usr/bin/env bash
# mkpki.sh DIR: a throwaway PKI for a loopback kube-apiserver: CA, serving cert (SAN 127.0.0.1),
# an admin client cert (group system:masters), a service-account signing keypair and a static
# admin token, and the front proxy's CA and client certificate (the aggregation layer: the API
# server proxies external.metrics.k8s.io to the controller with them). Valid for 3 days; made anew
# for every test run.
set -euo pipefail
P=${1:?usage: mkpki.sh DIR}; mkdir -p "$P"; cd "$P"
q() { "$@" >/dev/null 2>&1 || { echo "mkpki: failed: $*" >&2; exit 1; }; }
q openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3 -subj "/CN=surgeguard-test-ca"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n' > server.ext
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > client.ext
q openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver"
q openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3 -extfile server.ext -out apiserver.crt
q openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=surgeguard-test-admin"
q openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3 -extfile client.ext -out admin.crt
q openssl req -x509 -newkey rsa:2048 -nodes -keyout front-proxy-ca.key -out front-proxy-ca.crt -days 3 -subj "/CN=surgeguard-test-front-proxy-ca"
q openssl req -newkey rsa:2048 -nodes -keyout front-proxy-client.key -out front-proxy-client.csr -subj "/CN=front-proxy-client"
q openssl x509 -req -in front-proxy-client.csr -CA front-proxy-ca.crt -CAkey front-proxy-ca.key -CAcreateserial -days 3 -extfile client.ext -out front-proxy-client.crt
q openssl genrsa -out sa.key 2048
q openssl rsa -in sa.key -pubout -out sa.pub
tok=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf '%s,surgeguard-test-admin,surgeguard-test-admin-uid,"system:masters"\n' "$tok" > tokens.csv
printf '%s' "$tok" > token
rm -f ./*.csr
