//! End to end over real sockets: the RTC listener, the transport error
//! answers, dispatch, and sessions run by the bundled `echo` SLP.

mod common;

use std::time::Duration;

use common::{Client, WAIT, http, request, response, start, state_until};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_answers_a_message_with_200() {
    let (server, _root) = start("echo-message", "").await;
    let mut alice = Client::connect(server.rtc_addr, "alice").await;
    let mut msg = request("MESSAGE", "svc@example.org", "alice", "svc@example.org", "m-1", 7);
    msg["Body"] = json!({"text": "hi"});
    alice.send(msg).await;
    let answer = alice.recv().await;
    assert_eq!(
        answer,
        json!({"CSeq":7,"Code":200,"Desc":"OK","DialogueID":"m-1","From":"alice","To":"svc@example.org","Type":"RESPONSE"})
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_completes_a_call() {
    let (server, _root) = start("echo-call", "").await;
    let mut alice = Client::connect(server.rtc_addr, "alice").await;
    alice.send(request("INVITE", "svc", "alice", "svc", "c-1", 1)).await;
    let ok = alice.recv().await;
    assert_eq!((ok["Code"].as_u64(), ok["CSeq"].as_u64()), (Some(200), Some(1)));
    let mut ack = request("ACK", "svc", "alice", "svc", "c-1", 2);
    ack["RelatedID"] = json!(1);
    alice.send(ack).await;
    alice.send(request("BYE", "svc", "alice", "svc", "c-1", 3)).await;
    let bye_ok = alice.recv().await;
    assert_eq!((bye_ok["Code"].as_u64(), bye_ok["CSeq"].as_u64()), (Some(200), Some(3)));
    alice.expect_silence(Duration::from_millis(300)).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_answers_in_spec_order() {
    let (server, _root) = start("handshake", "").await;
    let addr = server.rtc_addr;
    let ws_headers = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let (status, headers, body) = http(addr, "GET", "/rtc/x?userid=a", &ws_headers, b"").await;
    assert_eq!((status, body.as_slice()), (404, &b"not found"[..]));
    assert!(headers.contains("content-type: text/plain; charset=utf-8"));
    let (status, _, body) = http(addr, "GET", "/rtc", &ws_headers, b"").await;
    assert_eq!((status, body.as_slice()), (400, &b"missing userid"[..]));
    let (status, _, body) = http(addr, "GET", "/rtc?userid=a%01b", &ws_headers, b"").await;
    assert_eq!((status, body.as_slice()), (400, &b"invalid userid"[..]));
    let (status, headers, body) = http(addr, "POST", "/rtc?userid=a", &ws_headers, b"").await;
    assert_eq!((status, body.as_slice()), (405, &b"method not allowed"[..]));
    assert!(headers.contains("allow: get"));
    let (status, _, body) = http(addr, "GET", "/rtc?userid=a", &[], b"").await;
    assert_eq!((status, body.as_slice()), (400, &b"not a websocket handshake"[..]));
    let old_version = [ws_headers[0], ws_headers[1], ("Sec-WebSocket-Version", "8"), ws_headers[3]];
    let (status, headers, body) = http(addr, "GET", "/rtc?userid=a", &old_version, b"").await;
    assert_eq!((status, body.as_slice()), (400, &b"unsupported websocket version"[..]));
    assert!(headers.contains("sec-websocket-version: 13"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_close_with_the_spec_codes() {
    let (server, _root) = start("frames", "[rtc]\nmax_frame = \"2KiB\"\n").await;
    for (frame, code, reason) in [
        (WsMessage::Text("{\"Type\":".into()), 1007, "invalid JSON"),
        (WsMessage::Text("[1,2]".into()), 1007, "not a JSON object"),
        (WsMessage::Text("".into()), 1007, "invalid JSON"),
        (WsMessage::Binary(vec![1, 2, 3].into()), 1003, "binary frames not supported"),
        (WsMessage::Text("x".repeat(3000).into()), 1009, "frame too large"),
    ] {
        let mut c = Client::connect(server.rtc_addr, "bad").await;
        c.send_frame(frame).await;
        assert_eq!(c.closed().await, Some((code, reason.to_owned())), "{reason}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_objects_are_answered_400_or_dropped() {
    let (server, _root) = start("objects", "").await;
    let mut c = Client::connect(server.rtc_addr, "carol").await;
    c.send(json!({"Type":"MESSAGE","Request-URI":"x","To":"y","DialogueID":"v-1","CSeq":9})).await;
    assert_eq!(
        c.recv().await,
        json!({"CSeq":9,"Code":400,"Desc":"Bad Request","DialogueID":"v-1","Reason":"missing From","To":"y","Type":"RESPONSE"})
    );
    // An ACK is never answered; a response without a transaction is dropped.
    c.send(json!({"Type":"ACK","Request-URI":"x","To":"y","DialogueID":"v-2","CSeq":1})).await;
    c.send(json!({"Type":"RESPONSE","Code":200,"From":"a","To":"b","DialogueID":"v-3","CSeq":1})).await;
    c.expect_silence(Duration::from_millis(300)).await;
    // The socket is still open and serving.
    c.send(request("MESSAGE", "svc", "carol", "svc", "v-4", 1)).await;
    assert_eq!(c.recv().await["Code"], 200);
    // Every outcome was counted.
    let (_, _, metrics) = http(server.api_addr, "GET", "/metrics", &[], b"").await;
    let metrics = String::from_utf8(metrics).unwrap();
    for line in [
        "slp_host_invalid_messages_total{action=\"answered_400\",reason=\"missing From\"} 1",
        "slp_host_invalid_messages_total{action=\"dropped\",reason=\"missing From\"} 1",
        "slp_host_dropped_messages_total{reason=\"no_transaction\"} 1",
    ] {
        assert!(metrics.contains(line), "missing {line} in\n{metrics}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_rules_answer_as_the_spec_says() {
    let (server, _root) = start("dispatch", "").await;
    let mut c = Client::connect(server.rtc_addr, "dave").await;
    // BYE on an unknown DialogueID: 481 no dialogue.
    c.send(request("BYE", "svc", "dave", "svc", "u-1", 1)).await;
    let a = c.recv().await;
    assert_eq!((a["Code"].as_u64(), a["Reason"].as_str()), (Some(481), Some("no dialogue")));
    // NOTIFY without binding: 481.
    c.send(request("NOTIFY", "svc", "dave", "svc", "u-2", 1)).await;
    assert_eq!(c.recv().await["Code"], 481);
    // type= names an SLP that is not loaded: 404.
    let mut m = request("MESSAGE", "svc", "dave", "svc", "u-3", 1);
    m["Router"] = json!("example.org;type=test");
    c.send(m).await;
    let a = c.recv().await;
    assert_eq!((a["Code"].as_u64(), a["Reason"].as_str()), (Some(404), Some("SLP test not loaded")));
    // A bad first Router: 400.
    let mut m = request("MESSAGE", "svc", "dave", "svc", "u-4", 1);
    m["Router"] = json!("bob@;x");
    c.send(m).await;
    let a = c.recv().await;
    assert_eq!((a["Code"].as_u64(), a["Reason"].as_str()), (Some(400), Some("bad Router: empty-host-port")));
    // An unknown relid: 404.
    let mut m = request("MESSAGE", "svc", "dave", "svc", "u-5", 1);
    m["Router"] = json!("svc.example.org;relid=relnope");
    c.send(m).await;
    let a = c.recv().await;
    assert_eq!((a["Code"].as_u64(), a["Reason"].as_str()), (Some(404), Some("unknown relid")));
    // The first label of the Request-URI selects a loaded SLP; otherwise `default`.
    c.send(request("MESSAGE", "x@conformance.example.org", "dave", "svc", "u-7", 1)).await;
    assert_eq!(c.recv().await["Code"], 404, "conformance: unknown case");
    c.send(request("MESSAGE", "x@elsewhere.example.org", "dave", "svc", "u-8", 1)).await;
    assert_eq!(c.recv().await["Code"], 200, "no SLP `elsewhere`: default (echo)");
    let mut m = request("MESSAGE", "x@elsewhere.example.org", "dave", "svc", "u-9", 1);
    m["Router"] = json!("conformance.example.org, bob@example.org");
    c.send(m).await;
    assert_eq!(c.recv().await["Code"], 404, "the first Router element wins over the Request-URI");
    // An INVITE to an SLP that is not loaded: 404 through the dialogue; the ACK is swallowed.
    let mut inv = request("INVITE", "svc", "dave", "svc", "u-6", 1);
    inv["Router"] = json!("x;type=nope");
    c.send(inv).await;
    assert_eq!(c.recv().await["Code"], 404);
    let mut ack = request("ACK", "svc", "dave", "svc", "u-6", 2);
    ack["RelatedID"] = json!(1);
    c.send(ack).await;
    c.expect_silence(Duration::from_millis(300)).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_socket_replaces_the_old_one_with_4000() {
    let (server, _root) = start("replace", "").await;
    let mut first = Client::connect(server.rtc_addr, "erin").await;
    let mut second = Client::connect(server.rtc_addr, "erin").await;
    assert_eq!(first.closed().await, Some((4000, "replaced".to_owned())));
    second.send(request("MESSAGE", "svc", "erin", "svc", "r-1", 1)).await;
    assert_eq!(second.recv().await["Code"], 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_queued_while_away_arrive_on_reconnect() {
    let (server, _root) = start("linger", "").await;
    // grace connects and leaves: her endpoint lingers (2 s in tests).
    drop(Client::connect(server.rtc_addr, "grace").await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // frank starts conformance's Send_MESSAGE case with From = grace: after
    // answering frank, the SLP sends a MESSAGE to grace, which is queued.
    let mut m = request("MESSAGE", "Send_MESSAGE", "grace", "svc", "q-1", 1);
    m["Router"] = json!("x;type=conformance");
    let mut frank = Client::connect(server.rtc_addr, "frank").await;
    frank.send(m).await;
    assert_eq!(frank.recv().await["Code"], 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // grace comes back within the linger window: the queued MESSAGE is written first.
    let mut grace = Client::connect(server.rtc_addr, "grace").await;
    let queued = grace.recv().await;
    assert_eq!(
        (queued["Type"].as_str(), queued["From"].as_str(), queued["To"].as_str()),
        (Some("MESSAGE"), Some("SendMessage"), Some("grace"))
    );
    grace.send(response(&queued, 200)).await;
    grace.expect_silence(Duration::from_millis(300)).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_leaks_when_sessions_end() {
    let (server, _root) = start("leaks", "[rtc]\nlinger = \"500ms\"\n").await;
    let mut clients = Vec::new();
    for i in 0..4 {
        let user = format!("leak-{i}");
        let mut c = Client::connect(server.rtc_addr, &user).await;
        for j in 0..10 {
            c.send(request("MESSAGE", "svc", &user, "svc", &format!("lm-{i}-{j}"), 1)).await;
        }
        for _ in 0..10 {
            assert_eq!(c.recv().await["Code"], 200);
        }
        let d = format!("lc-{i}");
        c.send(request("INVITE", "svc", &user, "svc", &d, 1)).await;
        assert_eq!(c.recv().await["Code"], 200);
        let mut ack = request("ACK", "svc", &user, "svc", &d, 2);
        ack["RelatedID"] = json!(1);
        c.send(ack).await;
        c.send(request("BYE", "svc", &user, "svc", &d, 3)).await;
        assert_eq!(c.recv().await["CSeq"], 3);
        // A rejected INVITE leaves a dialogue waiting for its ACK; it must go too.
        let mut inv = request("INVITE", "svc", &user, "svc", &format!("lr-{i}"), 1);
        inv["Router"] = json!("x;type=absent");
        c.send(inv).await;
        assert_eq!(c.recv().await["Code"], 404);
        clients.push(c);
    }
    // Sessions, bindings and instances return to zero (the rejected INVITEs wait 1 s for an ACK).
    let state = state_until(server.api_addr, WAIT, "sessions", |s| {
        s["sessions"] == 0 && s["bindings"]["dialogue_ids"] == 0 && s["bindings"]["relids"] == 0
    })
    .await;
    let live: u64 = state["instances"].as_array().unwrap().iter().map(|i| i["live"].as_u64().unwrap()).sum();
    assert_eq!(live, 0, "{state}");
    // Connections: closed, then lingering, then gone; queues empty.
    drop(clients);
    state_until(server.api_addr, WAIT, "endpoints", |s| {
        s["endpoints"]["user"]["connected"] == 0
            && s["endpoints"]["user"]["lingering"] == 0
            && s["endpoints"]["queued_messages"] == 0
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_closed_with_ping_timeout() {
    let (server, _root) = start("ping", "[rtc]\nping_interval = \"500ms\"\n").await;
    let mut quiet = Client::connect(server.rtc_addr, "quiet").await;
    let mut lively = Client::connect(server.rtc_addr, "lively").await;
    // `quiet` reads nothing, so it answers no ping; `lively` keeps talking.
    for i in 0..8 {
        lively.send(request("MESSAGE", "svc", "lively", "svc", &format!("p-{i}"), 1)).await;
        assert_eq!(lively.recv().await["Code"], 200);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(quiet.closed().await, Some((1001, "ping timeout".to_owned())));
    lively.send(request("MESSAGE", "svc", "lively", "svc", "p-end", 1)).await;
    assert_eq!(lively.recv().await["Code"], 200, "the talking peer is still connected");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_instance_pool_answers_503_at_once_and_spares_live_calls() {
    let (server, _root) = start("pool-full", "[slp]\nmax_live_instances = 6\n").await;
    let mut alice = Client::connect(server.rtc_addr, "alice").await;
    // Hold calls until the pool is full (on-load instances may hold slots too).
    let mut held = Vec::new();
    let refused = loop {
        let d = format!("pf-{}", held.len());
        alice.send(request("INVITE", "svc", "alice", "svc", &d, 1)).await;
        let answer = alice.recv().await;
        match answer["Code"].as_u64() {
            Some(200) => {
                let mut ack = request("ACK", "svc", "alice", "svc", &d, 2);
                ack["RelatedID"] = json!(1);
                alice.send(ack).await;
                held.push(d);
            }
            _ => break answer,
        }
        assert!(held.len() <= 6, "more calls held than the pool has slots");
    };
    assert!(!held.is_empty(), "no call got a slot");
    assert_eq!(refused["Code"], json!(503), "{refused}");
    assert_eq!(refused["Reason"], json!("SLP overloaded"), "{refused}");
    let d = refused["DialogueID"].as_str().unwrap().to_owned();
    let mut ack = request("ACK", "svc", "alice", "svc", &d, 2);
    ack["RelatedID"] = json!(1);
    alice.send(ack).await;
    // The calls already up are unaffected: each ends normally.
    for (i, d) in held.iter().enumerate() {
        alice.send(request("BYE", "svc", "alice", "svc", d, 3)).await;
        let ok = alice.recv().await;
        assert_eq!(
            (ok["Code"].as_u64(), ok["DialogueID"].as_str()),
            (Some(200), Some(d.as_str())),
            "call {i}"
        );
    }
    // Their slots are free again: a new call gets one.
    alice.send(request("INVITE", "svc", "alice", "svc", "pf-after", 1)).await;
    let ok = alice.recv().await;
    assert_eq!(ok["Code"], json!(200), "{ok}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_is_closed_after_the_write_timeout() {
    use futures_util::SinkExt;
    let (server, _root) = start("write-timeout", "[rtc]\nwrite_timeout = \"1s\"\n").await;
    // `stuck` shrinks its receive buffer and never reads: once the answers to
    // its MESSAGEs fill both sockets' buffers, the server's write waits.
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let tcp = tcp.connect(server.rtc_addr).await.unwrap();
    let url = format!("ws://{}/rtc?userid=stuck", server.rtc_addr);
    let (mut stuck, _) = tokio_tungstenite::client_async(url, tcp).await.expect("websocket connects");
    let mut lively = Client::connect(server.rtc_addr, "lively").await;
    // Long From and To make each 200 about 40 KiB: 400 of them outgrow the
    // socket buffers (4 MiB at most for the server's send buffer here).
    let long = |c: char| std::iter::repeat_n(c, 20_000).collect::<String>();
    let writer = tokio::spawn(async move {
        for i in 0..400 {
            let mut m = request("MESSAGE", "svc", "stuck", "svc", &format!("wt-{i}"), 1);
            (m["From"], m["To"]) = (json!(long('f')), json!(long('t')));
            // The server closes the socket at some point: stop then.
            if stuck.send(WsMessage::Text(m.to_string().into())).await.is_err() {
                break;
            }
        }
        stuck
    });
    // The blocked write gives up after 1 s and the socket is closed: only
    // `lively` is still connected, and it is served throughout.
    state_until(server.api_addr, WAIT, "stuck closed", |s| s["endpoints"]["user"]["connected"] == 1).await;
    lively.send(request("MESSAGE", "svc", "lively", "svc", "wt-lively", 1)).await;
    assert_eq!(lively.recv().await["Code"], 200, "the reading peer is still served");
    let (_, _, body) = http(server.api_addr, "GET", "/metrics", &[], b"").await;
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("slp_host_ws_closed_total{code=\"1006\"} 1"), "{body}");
    drop(writer.await.unwrap());
    server.stop().await;
}
