"""Prometheus exposition of jobdeck's data, and the Grafana board and alerting rules that read it."""
