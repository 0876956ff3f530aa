//! The pluggable transport: an async, object-safe HTTP client over `http` types, with an
//! implementation on `reqwest` behind the `reqwest` feature.

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;

use crate::error::{Error, Result};

/// An HTTP request with its whole body.
pub type HttpRequest = http::Request<Vec<u8>>;
/// An HTTP response with its whole body.
pub type HttpResponse = http::Response<Vec<u8>>;

/// The default maximum response body size.
pub const DEFAULT_MAX_RESPONSE_LEN: usize = 1024 * 1024;

/// Sends one HTTP request. Implementations must bound the response body (at most
/// [`DEFAULT_MAX_RESPONSE_LEN`] unless configured otherwise) and must not follow a redirect
/// to another host; this crate additionally treats any non-2xx status as a failure.
#[async_trait]
pub trait HttpClient: Send + Sync {
    /// Sends `request` and returns the response.
    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse>;
}

/// Adapts a [`HttpClient`] to the `oauth2` crate's client trait.
pub(crate) struct OAuth2Http<'a>(pub(crate) &'a dyn HttpClient);

impl<'c> oauth2::AsyncHttpClient<'c> for OAuth2Http<'_> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.0.execute(request))
    }
}

/// GETs `url` (accepting JSON) and returns the body of a 200 response, bounded by `max`.
pub(crate) async fn get_json_body(
    http: &dyn HttpClient,
    url: &str,
    what: &'static str,
    max: usize,
    bearer: Option<&str>,
) -> Result<Vec<u8>> {
    let mut builder = http::Request::get(url).header(http::header::ACCEPT, "application/json");
    if let Some(token) = bearer {
        builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = builder.body(Vec::new()).map_err(|e| Error::InvalidUrl {
        what,
        reason: e.to_string(),
    })?;
    let response = http.execute(request).await?;
    if response.status() != http::StatusCode::OK {
        return Err(Error::HttpStatus {
            status: response.status().as_u16(),
            what,
        });
    }
    let body = response.into_body();
    if body.len() > max {
        return Err(Error::ResponseTooLarge { max });
    }
    Ok(body)
}

#[cfg(feature = "reqwest")]
pub use self::reqwest_client::ReqwestHttpClient;

#[cfg(feature = "reqwest")]
mod reqwest_client {
    use std::time::Duration;

    use async_trait::async_trait;

    use super::{DEFAULT_MAX_RESPONSE_LEN, HttpClient, HttpRequest, HttpResponse};
    use crate::error::{Error, Result};

    /// A [`HttpClient`] on `reqwest`: redirects only within the same scheme, host and port
    /// (at most 5), a 10 s timeout, and a bounded response body.
    #[derive(Debug, Clone)]
    pub struct ReqwestHttpClient {
        client: reqwest::Client,
        max_response_len: usize,
    }

    impl ReqwestHttpClient {
        /// A client with the defaults.
        pub fn new() -> Result<Self> {
            Self::with_limits(Duration::from_secs(10), DEFAULT_MAX_RESPONSE_LEN)
        }

        /// A client with another timeout and maximum response size.
        pub fn with_limits(timeout: Duration, max_response_len: usize) -> Result<Self> {
            let policy = reqwest::redirect::Policy::custom(|attempt| {
                let same_origin = attempt.previous().first().is_some_and(|first| {
                    first.scheme() == attempt.url().scheme()
                        && first.host_str() == attempt.url().host_str()
                        && first.port_or_known_default() == attempt.url().port_or_known_default()
                });
                if same_origin && attempt.previous().len() <= 5 {
                    attempt.follow()
                } else {
                    attempt.stop()
                }
            });
            let client = reqwest::Client::builder()
                .redirect(policy)
                .timeout(timeout)
                .build()
                .map_err(|e| Error::Http(e.to_string()))?;
            Ok(Self {
                client,
                max_response_len,
            })
        }
    }

    #[async_trait]
    impl HttpClient for ReqwestHttpClient {
        async fn execute(&self, request: HttpRequest) -> Result<HttpResponse> {
            let request =
                reqwest::Request::try_from(request).map_err(|e| Error::Http(e.to_string()))?;
            let mut response = self
                .client
                .execute(request)
                .await
                .map_err(|e| Error::Http(e.without_url().to_string()))?;
            if response
                .content_length()
                .is_some_and(|len| len > self.max_response_len as u64)
            {
                return Err(Error::ResponseTooLarge {
                    max: self.max_response_len,
                });
            }
            let mut builder = http::Response::builder()
                .status(response.status())
                .version(response.version());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| Error::Http(e.without_url().to_string()))?
            {
                if body.len() + chunk.len() > self.max_response_len {
                    return Err(Error::ResponseTooLarge {
                        max: self.max_response_len,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(|e| Error::Http(e.to_string()))
        }
    }
}
