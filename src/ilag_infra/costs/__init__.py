"""A month's Azure bill turned into one invoice line per municipality (exports, split, render)."""
