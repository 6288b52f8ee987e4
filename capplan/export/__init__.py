"""Configs the platform runs, written from capplan's results: autoscalers, dashboards, rules, load-test manifests."""
