//! lasthop-edge: the Worker (in progress).
use worker::*;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    Router::new()
        .get("/healthz", |_, _| Response::ok("ok"))
        .run(req, env)
        .await
}

#[durable_object]
pub struct OrderObject {
    _state: State,
}

impl DurableObject for OrderObject {
    fn new(state: State, _env: Env) -> Self {
        Self { _state: state }
    }
    async fn fetch(&self, _req: Request) -> Result<Response> {
        Response::ok("order")
    }
}

#[durable_object]
pub struct ScannerGate {
    _state: State,
}

impl DurableObject for ScannerGate {
    fn new(state: State, _env: Env) -> Self {
        Self { _state: state }
    }
    async fn fetch(&self, _req: Request) -> Result<Response> {
        Response::ok("scanner")
    }
}
