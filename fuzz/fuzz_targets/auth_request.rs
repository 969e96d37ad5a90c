//! SigV4 / SigV2 / POST-policy parsing of an arbitrary request.
#![no_main]

mod request;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|req: request::Request| {
    jetgate_actors::fuzzing::auth_request(&req.signed());
});
