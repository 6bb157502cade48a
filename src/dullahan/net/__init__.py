"""The network face: HTTP(S), WebSocket, TLS, authentication and client connections."""
