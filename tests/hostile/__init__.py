"""Hostile submissions: student code that attacks the grader instead of answering."""
