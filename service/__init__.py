"""Headless performance-management service: OKRs and KPIs blended into one explainable score."""

__version__ = "0.1.0"
