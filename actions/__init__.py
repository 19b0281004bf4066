"""Rasa action server: thin adapters per capability (steps, weighing, contacts, notes, learning)."""
