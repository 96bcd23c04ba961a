-- One-time subscribe-message consents (wx.requestSubscribeMessage). Each "accept" a rider gives a
-- template is good for one message of that template, so consents are counted, and a message is
-- queued only after taking one (a conditional decrement in the change's own transaction).
CREATE TABLE subscription_consents (
    account_id TEXT NOT NULL,
    template_id TEXT NOT NULL,
    unused BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, template_id)
);
