//! A minimal HTTP/1.1 client over `std::net::TcpStream`: one request per connection
//! (`Connection: close`), the whole answer read to the end.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

/// An answer: the status code, the head (status line and headers) and the body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// Sends `method path` with `body` as JSON and reads the answer.
pub fn exchange(addr: SocketAddr, method: &str, path: &str, body: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}
