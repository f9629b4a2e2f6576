"""Deployments, schedules, automations and the local stack."""
