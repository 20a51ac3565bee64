"""Plumbing every role shares: the result manifest format and the journal of chain writes.

Worker, verifier and requester each import from here and never from one another, so a role
package can change without touching the others.
"""
