"""Renderers: turn analysed models into text, JSON, ... written to a given stream."""
