//! HTTP: axum router, SigV4 middleware, AWS JSON 1.1 codec, the single wire-error renderer.
