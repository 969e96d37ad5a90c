//! The aws-chunked decoder over a body split at arbitrary points.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (bool, bool, Vec<Vec<u8>>)| {
    let (signed, trailer, pieces) = input;
    jetgate_actors::fuzzing::aws_chunked(signed, trailer, &pieces);
});
