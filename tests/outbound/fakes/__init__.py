"""Local fakes of the providers' APIs: small ASGI apps that answer as the providers document."""
