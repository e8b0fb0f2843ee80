#!/usr/bin/env bash
# Start what the test suite needs when it is missing: PostgreSQL, Chromium for browser tests, nginx
# (the root-path tests run their own nginx in front of the app; it is only installed here) and
# Prometheus (promtool and the server) for the metrics tests.
# (Redis returns here with the first test that uses it: the Celery integration.)
# Says what it could not get; tests that need it then skip (or fail under JOBDECK_REQUIRE_SERVICES=1).
set -u

note() { printf 'ensure-services: %s\n' "$*"; }

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    note "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || note "PostgreSQL is not available on 127.0.0.1:5432"
fi

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    note "installing Chromium from Debian's packages (browser tests need it)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || note "could not install chromium"
  fi
  [ -x /usr/bin/chromium ] || note "Chromium is not available at /usr/bin/chromium"
fi

if [ ! -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    note "installing nginx from Debian's packages (the reverse-proxy tests start their own)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null) \
      || note "could not install nginx"
  fi
  [ -x /usr/sbin/nginx ] || note "nginx is not available at /usr/sbin/nginx"
fi

if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    note "installing Prometheus from Debian's packages (metrics tests need promtool and the server)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null) \
      || note "could not install prometheus"
  fi
  command -v promtool >/dev/null 2>&1 || note "Prometheus (promtool) is not available"
fi

# Node and npm: the BullMQ tests fill queues with the real bullmq from npm (tests/bullmq/).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    note "installing Node.js and npm from Debian's packages (the BullMQ tests run bullmq with them)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null) \
      || note "could not install nodejs"
  fi
  command -v node >/dev/null 2>&1 || note "Node.js is not available (BullMQ tests skip)"
fi
exit 0
