"""Edge tooling for AutoNinja: the local stack, the trail CLI and local invocation.

Nothing here is shipped in the Lambda layer.
"""
