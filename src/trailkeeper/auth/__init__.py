"""Tokens, scopes and the authenticated principal."""
