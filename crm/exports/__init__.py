"""Exports of people: lists and saved views to CSV and JSON (crm.exports.lists) and everything held
about one person (crm.exports.person)."""
