//! The route table and what is read from a routed request: operation, policy accesses,
//! write conditions, copy source, ACL headers.
#![no_main]

mod request;

use jetgate_protocol::acl::{check_acl_call, refuse_grants};
use jetgate_protocol::query::percent_decode;
use jetgate_protocol::route::{copy_source, route_signed};
use jetgate_protocol::write_condition::WriteCondition;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|req: request::Request| {
    let signed = req.signed();
    let _ = percent_decode(&signed.path, false);
    let _ = percent_decode(&signed.query, true);
    let _ = WriteCondition::of_write(&signed);
    let _ = WriteCondition::of_delete(&signed);
    if let Some((_, v)) = signed.headers.iter().find(|(n, _)| n == "x-amz-copy-source") {
        let _ = copy_source(v);
    }
    if let Ok(routed) = route_signed(&signed) {
        let _ = routed.accesses();
        let _ = routed.resource();
        let _ = refuse_grants(routed.op, &signed);
        let _ = check_acl_call(routed.op, &signed);
    }
});
