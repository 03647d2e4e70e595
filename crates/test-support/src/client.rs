//! A browser-like HTTP client for the administrator screens.

/// A browser-like HTTP client for the admin screens: keeps the session cookie, reads the
/// CSRF token from pages, and never follows redirects on its own.
pub struct AdminClient {
    pub base_url: String,
    http: reqwest::Client,
    cookie: Option<String>,
}

impl AdminClient {
    pub fn new(base_url: &str) -> AdminClient {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        AdminClient { base_url: base_url.to_string(), http, cookie: None }
    }

    /// Logs in; returns the HTTP status of the login answer (303 on success).
    pub async fn login(&mut self, company_code: &str, login_id: &str, password: &str) -> u16 {
        let response = self
            .http
            .post(format!("{}/login", self.base_url))
            .form(&[("company_code", company_code), ("login_id", login_id), ("password", password)])
            .send()
            .await
            .expect("login request");
        if let Some(cookie) = response.headers().get("set-cookie").and_then(|v| v.to_str().ok()) {
            self.cookie = cookie.split(';').next().map(str::to_string);
        }
        response.status().as_u16()
    }

    fn with_cookie(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(c) => request.header("cookie", c),
            None => request,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.with_cookie(self.http.get(format!("{}{path}", self.base_url))).send().await.expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// The CSRF token embedded in a page's forms.
    pub async fn csrf(&self, path: &str) -> String {
        let (_, page) = self.get_text(path).await;
        let marker = "name=\"csrf\" value=\"";
        let start = page.find(marker).map(|i| i + marker.len()).expect("a form with a CSRF token");
        page[start..].split('"').next().unwrap_or_default().to_string()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.with_cookie(self.http.post(format!("{}{path}", self.base_url))).form(form).send().await.expect("POST")
    }

    pub async fn post_file(&self, path: &str, csrf: &str, file_name: &str, bytes: Vec<u8>) -> reqwest::Response {
        self.post_file_with(path, &[("csrf", csrf)], file_name, bytes).await
    }

    /// A multipart form: the text fields, then the file.
    pub async fn post_file_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file_name: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string());
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        let form = form.part("file", part);
        self.with_cookie(self.http.post(format!("{}{path}", self.base_url)))
            .multipart(form)
            .send()
            .await
            .expect("upload")
    }
}
