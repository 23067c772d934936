//! The awsJson1_1 front door: authentication scope, target, fault injection, rate limit, then the lookup.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::{Duration, OffsetDateTime};

use crate::lookup::{self, LookupEventsRequest, LookupEventsResponse, ServiceError, WireEvent};
use crate::store::{RegionHistory, SortKey, StoredEvent};
use crate::throttle::{RateLimit, TokenBucket};
use crate::{Config, Fault, RecordedRequest, TokenBinding};

const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const TARGETS: [&str; 2] = [
    "CloudTrail_20131101.LookupEvents",
    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
];

/// What a NextToken stands for: the parameters it was issued for and where the next page starts.
struct IssuedToken {
    binding: String,
    /// `None`: from the newest matching event (a token after an empty first page).
    resume_after: Option<SortKey>,
    issued: Instant,
}

pub(crate) struct EmulatorState {
    pub histories: HashMap<String, RegionHistory>,
    buckets: HashMap<String, TokenBucket>,
    tokens: HashMap<String, IssuedToken>,
    pub faults: VecDeque<Fault>,
    pub log: Vec<RecordedRequest>,
    rate_limit: Option<RateLimit>,
    retention: Duration,
    token_binding: TokenBinding,
    token_lifetime: Option<std::time::Duration>,
}

pub(crate) type Shared = Arc<Mutex<EmulatorState>>;

impl EmulatorState {
    pub(crate) fn new(config: &Config) -> Self {
        EmulatorState {
            histories: HashMap::new(),
            buckets: HashMap::new(),
            tokens: HashMap::new(),
            faults: VecDeque::new(),
            log: Vec::new(),
            rate_limit: config.rate_limit,
            retention: config.retention,
            token_binding: config.token_binding,
            token_lifetime: config.token_lifetime,
        }
    }

    pub(crate) fn insert(&mut self, region: &str, events: Vec<StoredEvent>) {
        let history = self.histories.entry(region.to_owned()).or_default();
        events.into_iter().for_each(|ev| history.insert(ev));
    }

    fn admit(&mut self, region: &str) -> bool {
        let Some(limit) = self.rate_limit else {
            return true;
        };
        let now = Instant::now();
        self.buckets
            .entry(region.to_owned())
            .or_insert_with(|| TokenBucket::new(limit, now))
            .try_take(now)
    }

    fn lookup(
        &mut self,
        region: &str,
        body: &[u8],
        empty_page: bool,
    ) -> Result<LookupEventsResponse, ServiceError> {
        let req: LookupEventsRequest = serde_json::from_slice(body).map_err(|e| {
            ServiceError::new(
                "SerializationException",
                format!("Cannot read the request: {e}"),
            )
        })?;
        let valid = lookup::validate(
            &req,
            region,
            OffsetDateTime::now_utc(),
            self.retention,
            self.token_binding,
        )?;
        let resume_after = match &req.next_token {
            None => None,
            Some(token) => match self.tokens.get(token) {
                Some(issued)
                    if self
                        .token_lifetime
                        .is_some_and(|lifetime| issued.issued.elapsed() >= lifetime) =>
                {
                    return Err(ServiceError::new(
                        "InvalidNextTokenException",
                        "The NextToken has expired.",
                    ));
                }
                Some(issued) if issued.binding == valid.binding => issued.resume_after.clone(),
                Some(_) => {
                    return Err(ServiceError::new(
                        "InvalidNextTokenException",
                        "The NextToken was issued for different request parameters.",
                    ));
                }
                None => {
                    return Err(ServiceError::new(
                        "InvalidNextTokenException",
                        "The NextToken is not valid.",
                    ));
                }
            },
        };
        let (events, resume_after) = if empty_page {
            (Vec::new(), Some(resume_after))
        } else {
            let page = self
                .histories
                .get(region)
                .map(|h| h.page(&valid.query, resume_after.as_ref(), valid.limit));
            page.map_or((Vec::new(), None), |p| (p.events, p.resume_after.map(Some)))
        };
        let next_token = resume_after.map(|resume_after| {
            let token = uuid::Uuid::new_v4().simple().to_string();
            self.tokens.insert(
                token.clone(),
                IssuedToken {
                    binding: valid.binding,
                    resume_after,
                    issued: Instant::now(),
                },
            );
            token
        });
        Ok(LookupEventsResponse {
            events: events.into_iter().map(WireEvent::from).collect(),
            next_token,
        })
    }
}

/// The region in the SigV4 credential scope: `Credential=AKID/DATE/REGION/cloudtrail/aws4_request`.
/// The signature itself is not checked.
fn signing_region(headers: &HeaderMap) -> Result<String, (StatusCode, ServiceError)> {
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        let err = ServiceError::new(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        );
        return Err((StatusCode::FORBIDDEN, err));
    };
    let scope = auth
        .split("Credential=")
        .nth(1)
        .and_then(|rest| rest.split([',', ' ']).next())
        .unwrap_or("");
    match scope.split('/').collect::<Vec<_>>().as_slice() {
        [_, _, region, "cloudtrail", "aws4_request"] if !region.is_empty() => {
            Ok((*region).to_owned())
        }
        _ => Err((
            StatusCode::BAD_REQUEST,
            ServiceError::new(
                "IncompleteSignatureException",
                "Authorization header needs a SigV4 credential scope of the form AKID/DATE/REGION/cloudtrail/aws4_request.",
            ),
        )),
    }
}

pub(crate) async fn handle(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let region = signing_region(&headers);
    let mut entry = RecordedRequest {
        region: region.as_ref().ok().cloned(),
        target: target.clone(),
        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        status: 200,
        error_code: None,
        events_returned: 0,
        received: Instant::now(),
    };
    let mut emu = shared.lock().expect("emulator state poisoned");
    let result = (|| {
        let region = region?;
        if !target.as_deref().is_some_and(|t| TARGETS.contains(&t)) {
            let message = format!(
                "Operation {} is not supported by this emulator.",
                target.as_deref().unwrap_or("(none)")
            );
            return Err((
                StatusCode::BAD_REQUEST,
                ServiceError::new("UnknownOperationException", message),
            ));
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.starts_with(CONTENT_TYPE) {
            let message = format!("Content-Type must be {CONTENT_TYPE}, got '{content_type}'.");
            return Err((
                StatusCode::BAD_REQUEST,
                ServiceError::new("UnknownOperationException", message),
            ));
        }
        let fault = emu.faults.pop_front();
        match fault {
            Some(Fault::InternalError) => {
                let err = ServiceError::new("InternalFailure", "Injected internal failure.");
                return Err((StatusCode::INTERNAL_SERVER_ERROR, err));
            }
            Some(Fault::Throttle) => return Err((StatusCode::BAD_REQUEST, throttled())),
            Some(Fault::EmptyPage) | None => {}
        }
        if !emu.admit(&region) {
            return Err((StatusCode::BAD_REQUEST, throttled()));
        }
        emu.lookup(&region, &body, fault == Some(Fault::EmptyPage))
            .map_err(|e| (StatusCode::BAD_REQUEST, e))
    })();
    let response = match result {
        Ok(page) => {
            entry.events_returned = page.events.len();
            let json = serde_json::to_string(&page).expect("response serialises");
            (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], json).into_response()
        }
        Err((status, err)) => {
            entry.status = status.as_u16();
            entry.error_code = Some(err.code.to_owned());
            error_response(status, &err)
        }
    };
    emu.log.push(entry);
    with_request_id(response)
}

fn throttled() -> ServiceError {
    ServiceError::new("ThrottlingException", "Rate exceeded")
}

/// awsJson1_1 error as Coral services send it: `__type` is the shape id (`namespace#Name`) and
/// `x-amzn-ErrorType` is `Name:url`; clients keep only the name (smithy awsJson1_1 spec). CloudTrail's
/// own exceptions say `Message`, the framework's (throttling, serialization) `message`.
fn error_response(status: StatusCode, err: &ServiceError) -> Response {
    let (namespace, message_key) = match err.code {
        "ThrottlingException" => ("com.amazon.coral.availability", "message"),
        code if code.starts_with("Invalid")
            || code == "OperationNotPermittedException"
            || code == "UnsupportedOperationException" =>
        {
            ("com.amazonaws.cloudtrail.v20131101", "Message")
        }
        _ => ("com.amazon.coral.service", "message"),
    };
    let mut body = serde_json::Map::new();
    body.insert("__type".into(), format!("{namespace}#{}", err.code).into());
    body.insert(message_key.into(), err.message.clone().into());
    let error_type = format!("{}:http://internal.amazon.com/coral/{namespace}/", err.code);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        serde_json::Value::Object(body).to_string(),
    )
        .into_response();
    if let Ok(value) = header::HeaderValue::from_str(&error_type) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

fn with_request_id(mut response: Response) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    if let Ok(value) = header::HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}
