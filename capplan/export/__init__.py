"""Configs the platform runs, written from capplan's results: autoscalers, dashboards, rules, load-test manifests.

Builders return plain data (dicts as the target system's API defines them); :mod:`capplan.export.files`
writes them atomically. The PromQL is the one :mod:`capplan.models.alerts` writes for ``capplan rules``.
"""
