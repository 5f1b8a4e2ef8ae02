"""What tests share: waiting on effects, and builders of manifests, persons and stamps.

Test modules import from here, never from one another.
"""
