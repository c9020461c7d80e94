"""What a page says after an action succeeded: the action by name, not a generic "操作已完成".

Actions redirect to a page with `?done=<action>`; the same word means different acts on different
pages (create a demand, a share request, an authorization), so the message is looked up by the
page's path first and by the action alone as a fallback.
"""

from __future__ import annotations

import re

from ..i18n import N_

GENERIC = N_("操作已完成")

# (path pattern, action) → message. Patterns are matched against the whole path.
BY_PAGE: tuple[tuple[str, dict[str, str]], ...] = (
    (r"/catalog/\d+", {
        "saved": N_("信息资源已保存"), "submit": N_("已提交审核，等待主管部门审核"), "withdraw": N_("已撤回审核申请"),
        "publish": N_("信息资源已发布"), "return": N_("已退回，数据专员可修改后重新提交"),
        "retire": N_("信息资源已停用"),
        "confirm": N_("批次已确认，数据已发布"), "discard": N_("批次已丢弃"),
    }),
    (r"/console/review", {"publish": N_("信息资源已发布"), "return": N_("已退回，数据专员可修改后重新提交")}),
    (r"/console/resources/\d+/classification", {
        "suggest": N_("已生成分级建议，请逐项确认"), "confirm": N_("已确认该信息项的分级"),
        "override": N_("已调整该信息项的分级"),
    }),
    (r"/console/resources/\d+/quality", {"assess": N_("质量评估已完成")}),
    (r"/console/jobs", {"retry": N_("任务已重新排队")}),
    (r"/console/objections", {
        "file": N_("异议已提交，提供部门将在期限内答复"), "answer": N_("已答复异议"), "correct": N_("已登记更正"),
        "withdraw": N_("已撤回异议"), "decide": N_("已作出裁定"),
    }),
    (r"/open/my", {
        "apply": N_("申请已提交，请等待提供部门答复"), "withdraw": N_("已撤回开放申请"), "revoke": N_("API密钥已吊销"),
        "showcase": N_("应用成果已提交，审核通过后展示"),
    }),
    (r"/demands/\d+", {"create": N_("需求已提交，开放主管部门将在期限内答复"), "answer": N_("已答复需求")}),
    (r"/console/open/applications/\d+", {"decide": N_("已答复开放申请")}),
    (r"/console/open", {"review": N_("已审核应用成果"), "plan": N_("开放计划已更新")}),
    (r"/console/operate/\d+", {
        "create": N_("授权已创建"), "suspend": N_("授权已暂停"), "resume": N_("授权已恢复"), "revoke": N_("授权已撤销"),
        "policy": N_("发布方式和隐私预算已更新"), "approve": N_("已批准放行该结果"), "reject": N_("已驳回该结果"),
         # issue 16
    }),
    (r"/console/products/\d+", {
        "create": N_("数据产品已创建"), "review": N_("合规审查意见已保存"), "signoff": N_("已签署合规审查"),
        "register": N_("已提交产品登记"), "accept": N_("登记申请已受理"), "check": N_("登记核查已完成"),
        "code": N_("已赋予登记编码"), "object": N_("已提出登记异议"),
    }),
    (r"/console/share/grants/\d+", {"revoke": N_("共享授权已撤销"), "delivery": N_("交付已开始")}),
    (r"/console/share/\d+", {
        "create": N_("共享申请已提交，等待提供部门审批"), "decide": N_("审批决定已作出"),
        "withdraw": N_("已撤回共享申请"),
    }),
    (r"/console/security/sso", {  # issue 18: the security administrator's SSO identities
        "link": N_("已关联统一身份认证账号"), "unlink": N_("已解除关联，该用户的会话已结束"),
        "disable": N_("已停用该统一身份认证账号，该用户的会话已结束"), "enable": N_("已恢复该统一身份认证账号"),
    }),
    (r"/console/assess", {"target": N_("考核目标已设定"), "revise": N_("考核目标已修订"),
                          "retire": N_("考核目标已停用")}),
    (r"/console/calendar", {
        "people": N_("人员数已登记"), "firm": N_("审计机构已登记"), "audit": N_("审计已安排"),
        "assign": N_("审计机构已指派"),
        "extend": N_("审计期限已延长"), "complete": N_("审计已办结"),
    }),
)
_COMPILED = tuple((re.compile(pattern), messages) for pattern, messages in BY_PAGE)


def done_message(path: str, done: str | None) -> str:
    """The success message (Chinese source text) for `done` on the page at `path`."""
    if not done:
        return GENERIC
    for pattern, messages in _COMPILED:
        if pattern.fullmatch(path) and done in messages:
            return messages[done]
    return GENERIC


def all_messages() -> set[str]:
    return {m for _, messages in BY_PAGE for m in messages.values()} | {GENERIC}
