//! Record splitting: any bytes, cut into chunks at any points, give the same records (or
//! the same error) as the bytes pushed at once, for both protocols and a size limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signalr_core::protocol::{HubProtocol, RecordReader};

fn split(protocol: HubProtocol, chunks: &[&[u8]]) -> (Vec<bytes::Bytes>, bool) {
    let mut reader = RecordReader::new(protocol, Some(4096));
    let mut records = Vec::new();
    for chunk in chunks {
        reader.push(chunk);
        loop {
            match reader.next_record() {
                Ok(Some(record)) => records.push(record),
                Ok(None) => break,
                Err(_) => return (records, true),
            }
        }
    }
    (records, false)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cuts, data)) = data.split_first() else {
        return;
    };
    for protocol in [HubProtocol::Json, HubProtocol::MessagePack] {
        let whole = split(protocol, &[data]);
        // Cut every `cuts % 7 + 1` bytes.
        let step = usize::from(cuts % 7) + 1;
        let pieces: Vec<&[u8]> = data.chunks(step).collect();
        let chunked = split(protocol, &pieces);
        assert_eq!(whole, chunked, "{protocol:?}: chunking changed the records");
    }
});
