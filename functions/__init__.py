"""Azure Functions blueprints, one module per function group (registered by function_app)."""
