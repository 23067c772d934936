//! Rule-engine benchmark: streams generated CloudTrail S3 log files through the record parser and
//! both rule sets, and prints events per second per core and peak RSS.
//!
//! ```text
//! cargo run --release -p snowkey-audit-bench -- [--records 1000000] [--gzip] [--parse-only]
//! ```
//! The corpus is generated lazily while it is read (a `Read` impl), so the process never holds
//! it: peak RSS is what the engine itself needs. The engine is single-threaded; "per core" is
//! events per CPU-second of this process (from /proc/self/schedstat, so other load on the
//! machine does not skew it), with the generator's own CPU time measured separately and
//! subtracted.

use std::io::{self, Read, Write};
use std::time::Instant;

use anyhow::{Context, Result};
use snowkey_shared::audit::{AssumeRoleAudit, AuditConfig, RecordStream, SecretAccessAudit};

const CONFIG: &str = r#"{
  "secret_access": {
    "name_prefixes": ["snowflake/"],
    "readers": {"snowflake/*": ["arn:aws:iam::123456789012:role/etl-*"]},
    "rotation_roles": ["arn:aws:iam::123456789012:role/snowkey-rotation"],
    "trusted_cidrs": ["203.0.113.0/24"],
    "bulk_threshold": 10
  },
  "assume_role": {
    "sensitive_roles": ["*:role/snowflake-*", "*:role/snowkey-rotation"],
    "callers": {"*:role/snowflake-*": ["arn:aws:iam::123456789012:role/etl-*"]},
    "accounts": ["123456789012"],
    "trusted_cidrs": ["203.0.113.0/24"],
    "chain_sources": ["arn:aws:iam::123456789012:role/etl-*"]
  }
}"#;

/// Writes `{"Records":[...]}` on demand: reads by 60 etl roles (allowed), a few odd callers,
/// AssumeRole calls, and unrelated management events, two seconds apart.
struct Corpus {
    next: u64,
    total: u64,
    buf: Vec<u8>,
    pos: usize,
    closed: bool,
}

impl Corpus {
    fn new(total: u64) -> Self {
        Corpus {
            next: 0,
            total,
            buf: b"{\"Records\":[\n".to_vec(),
            pos: 0,
            closed: false,
        }
    }

    fn refill(&mut self) {
        self.buf.clear();
        self.pos = 0;
        let end = (self.next + 512).min(self.total);
        while self.next < end {
            if self.next > 0 {
                self.buf.extend_from_slice(b",\n");
            }
            write_record(&mut self.buf, self.next);
            self.next += 1;
        }
        if self.next == self.total && !self.closed {
            self.buf.extend_from_slice(b"\n]}\n");
            self.closed = true;
        }
    }
}

impl Read for Corpus {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.buf.len() {
            if self.closed {
                return Ok(0);
            }
            self.refill();
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn write_record(buf: &mut Vec<u8>, i: u64) {
    let secs = 1_793_000_000 + i * 2;
    let (d, rem) = (secs / 86_400, secs % 86_400);
    let day = 1 + d % 28;
    let time = format!(
        "2026-11-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    // Two in 50,000 events (a read, an AssumeRole) come from an unexpected principal and network.
    let odd = i % 50_000 == 1 || i % 50_000 == 6;
    let role = if odd {
        format!("intruder-{}", i % 5)
    } else {
        format!("etl-{}", i % 60)
    };
    let ip = if odd {
        "198.51.100.23".to_string()
    } else {
        format!("10.{}.{}.{}", i % 200, i % 250, i % 7)
    };
    let vpce = if odd {
        ""
    } else {
        r#""vpcEndpointId":"vpce-0a1b2c3d4e5f67890","#
    };
    let identity = format!(
        r#"{{"type":"AssumedRole","principalId":"AROAEXAMPLE{i:08}:s-{i}","arn":"arn:aws:sts::123456789012:assumed-role/{role}/s-{i}","accountId":"123456789012","accessKeyId":"ASIAEXAMPLE{i:09}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROAEXAMPLE{i:08}","arn":"arn:aws:iam::123456789012:role/{role}","accountId":"123456789012","userName":"{role}"}},"attributes":{{"creationDate":"{time}","mfaAuthenticated":"false"}}}}}}"#
    );
    let (source, name, params) = match i % 10 {
        0..=4 => (
            "secretsmanager",
            "GetSecretValue",
            format!(r#"{{"secretId":"arn:aws:secretsmanager:eu-west-1:123456789012:secret:{}/svc_{}-AbC123"}}"#, if i.is_multiple_of(3) { "app" } else { "snowflake" }, i % 40),
        ),
        5..=7 => (
            "sts",
            "AssumeRole",
            format!(r#"{{"roleArn":"arn:aws:iam::123456789012:role/{}-{}","roleSessionName":"s-{i}","durationSeconds":3600}}"#, if i % 4 == 2 { "snowflake" } else { "app" }, i % 30),
        ),
        _ => ("ec2", "DescribeInstances", r#"{"instancesSet":{},"filterSet":{"items":[{"name":"tag:team","valueSet":{"items":[{"value":"data"}]}}]}}"#.to_string()),
    };
    let _ = write!(
        buf,
        r#"{{"eventVersion":"1.09","userIdentity":{identity},"eventTime":"{time}","eventSource":"{source}.amazonaws.com","eventName":"{name}","awsRegion":"eu-west-1","sourceIPAddress":"{ip}","userAgent":"aws-sdk-rust/1.3.9 os/linux lang/rust/1.94.0 exec-env/AWS_Lambda_provided.al2023","requestParameters":{params},"responseElements":null,"requestID":"{i:08x}-0000-4000-8000-00000000abcd","eventID":"{i:08x}-1111-4222-8333-444455556666","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012",{vpce}"eventCategory":"Management","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"{source}.eu-west-1.amazonaws.com"}}}}"#
    );
}

fn corpus(records: u64, gzip: bool) -> Result<Box<dyn Read + Send>> {
    if !gzip {
        return Ok(Box::new(Corpus::new(records)));
    }
    // Compressed up front (outside the timing), as S3 log files arrive; the compressed bytes
    // sit in memory and count towards peak RSS.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    io::copy(&mut Corpus::new(records), &mut enc)?;
    let compressed = enc.finish()?;
    println!(
        "  (gzip corpus held in memory: {} MiB)",
        compressed.len() >> 20
    );
    Ok(Box::new(io::Cursor::new(compressed)))
}

/// CPU time this (single-threaded) process has run, in seconds: robust to other load on the machine.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/schedstat").unwrap_or_default();
    stat.split_whitespace()
        .next()
        .and_then(|ns| ns.parse::<f64>().ok())
        .map_or(0.0, |ns| ns / 1e9)
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Run {
    cpu: f64,
    events: u64,
    findings: usize,
    skipped: u64,
    secs: f64,
}

fn run(records: u64, gzip: bool, config: &AuditConfig) -> Result<Run> {
    let input = corpus(records, gzip)?;
    let start = Instant::now();
    let cpu_start = cpu_secs();
    let mut stream = RecordStream::open(input).context("opening the corpus")?;
    let mut secrets = SecretAccessAudit::new(config.secret_access.clone())?;
    let mut roles = AssumeRoleAudit::new(config.assume_role.clone())?;
    let mut events = 0;
    let parse_only = std::env::args().any(|a| a == "--parse-only");
    for record in stream.by_ref() {
        let record = record?;
        if !parse_only {
            secrets.observe(&record);
            roles.observe(&record);
        }
        events += 1;
    }
    let findings = secrets.finish().len() + roles.finish().len();
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu_start;
    Ok(Run {
        cpu,
        events,
        findings,
        skipped: stream.skipped().total(),
        secs,
    })
}

/// CPU time to generate the corpus alone, and its size.
fn generation(records: u64) -> Result<(f64, u64)> {
    let start = cpu_secs();
    let bytes = io::copy(&mut Corpus::new(records), &mut io::sink())?;
    Ok((cpu_secs() - start, bytes))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let records: u64 = match args.iter().position(|a| a == "--records") {
        Some(i) => args
            .get(i + 1)
            .context("--records needs a number")?
            .parse()?,
        None => 1_000_000,
    };
    let gzip = args.iter().any(|a| a == "--gzip");
    let config = AuditConfig::from_json(CONFIG)?;
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "snowkey audit rule-engine benchmark ({} input)",
        if gzip { "gzip" } else { "plain JSON" }
    )?;
    let mut hwm = Vec::new();
    for n in [records / 10, records] {
        let (gen_secs, bytes) = generation(n)?;
        // Gzip input is generated and compressed before the clock starts.
        let gen_secs = if gzip { 0.0 } else { gen_secs };
        let r = run(n, gzip, &config)?;
        let engine_secs = (r.cpu - gen_secs).max(f64::EPSILON);
        let rss = peak_rss_kib().unwrap_or(0);
        hwm.push(rss);
        writeln!(
            out,
            "{n:>9} records ({:.0} MB): {} parsed, {} skipped, {} findings | wall {:.2} s = {:.0} events/s, CPU {:.2} s | engine alone {:.0} events/s/core | peak RSS {} MiB",
            bytes as f64 / 1e6,
            r.events,
            r.skipped,
            r.findings,
            r.secs,
            r.events as f64 / r.secs,
            r.cpu,
            r.events as f64 / engine_secs,
            rss / 1024,
        )?;
    }
    writeln!(
        out,
        "peak RSS after {} records: {} MiB; after {records}: {} MiB (flat when equal)",
        records / 10,
        hwm[0] / 1024,
        hwm[1] / 1024
    )?;
    Ok(())
}
