use jetgate_protocol::tagging::Tag;

use super::*;

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

#[test]
fn url_encoding_like_s3() {
    assert_eq!(url_encode("a b/c+d~e*f-_.g%"), "a+b/c%2Bd%7Ee*f-_.g%25");
    assert_eq!(url_encode("é"), "%C3%A9");
}

#[test]
fn tagging_xml() {
    let reply = TaggingReply {
        tags: vec![Tag::new("Key4", "Value4"), Tag::new("a<b", "")],
    };
    assert_eq!(
        tagging(&reply),
        format!("{HEAD}<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet><Tag><Key>Key4</Key><Value>Value4</Value></Tag><Tag><Key>a&lt;b</Key><Value></Value></Tag></TagSet></Tagging>")
    );
}
