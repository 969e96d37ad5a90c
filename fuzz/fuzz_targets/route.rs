//! The route table and what is read from a routed request: operation, policy accesses,
//! write conditions, copy source, ACL headers.
#![no_main]

mod request;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|req: request::Request| {
    jetgate_actors::fuzzing::route(&req.signed());
});
