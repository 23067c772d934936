//! Release zips from `cargo lambda build --output-format zip`: size, and which CPU the `bootstrap`
//! inside was built for (read from its ELF header, so the report cannot claim the wrong one).

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use flate2::read::DeflateDecoder;

pub struct ZipInfo {
    pub bytes: u64,
    pub architecture: &'static str,
}

pub fn inspect(zip: &Path) -> anyhow::Result<ZipInfo> {
    let data = std::fs::read(zip).with_context(|| format!("reading {}", zip.display()))?;
    Ok(ZipInfo {
        bytes: data.len() as u64,
        architecture: architecture(&elf_header(&data)?),
    })
}

/// The first 20 bytes of the archive's first entry (the zip holds only `bootstrap`).
fn elf_header(zip: &[u8]) -> anyhow::Result<[u8; 20]> {
    let u16_at = |at: usize| {
        zip.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    if zip.get(0..4) != Some(&[0x50, 0x4b, 0x03, 0x04][..]) {
        bail!("not a zip archive (no local file header first)");
    }
    let (Some(method), Some(name_len), Some(extra_len)) = (u16_at(8), u16_at(26), u16_at(28))
    else {
        bail!("truncated zip header");
    };
    let start = 30 + usize::from(name_len) + usize::from(extra_len);
    let data = zip.get(start..).context("truncated zip entry")?;
    let mut header = [0u8; 20];
    match method {
        0 => header.copy_from_slice(data.get(..20).context("entry shorter than an ELF header")?),
        8 => DeflateDecoder::new(data).read_exact(&mut header)?,
        other => bail!("unsupported zip compression method {other}"),
    }
    Ok(header)
}

fn architecture(elf: &[u8; 20]) -> &'static str {
    if elf[..4] != [0x7f, b'E', b'L', b'F'] {
        return "not an ELF binary";
    }
    match u16::from_le_bytes([elf[18], elf[19]]) {
        0xb7 => "arm64",
        0x3e => "x86_64",
        _ => "other",
    }
}
