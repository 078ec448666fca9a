"""REST API v1 for the practices' own software (token or session authentication), documented by OpenAPI."""
