//! One pair of tests per catalogued endpoint, generated from the spec (`generated/endpoint_tests.rs`):
//! `<method>_examples_round_trip` and `<method>_on_the_wire`.
mod support;

include!(concat!(env!("OUT_DIR"), "/endpoint_tests.rs"));
