"""Roles, memberships and tenancy scoping."""
