//! The XML request bodies workers parse.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    jetgate_actors::fuzzing::xml_bodies(data);
});
