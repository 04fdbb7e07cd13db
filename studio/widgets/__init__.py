"""Reusable widgets of the studio: charts, image views, heat maps, histograms, log view, validated fields."""
