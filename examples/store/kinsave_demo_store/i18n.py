"""The store's two languages, chosen like kinsave's pages (a cookie, else Accept-Language, else
English) but kept here: the store depends on nothing of kinsave's."""

from collections.abc import Callable

LANG_COOKIE = "store_lang"
DEFAULT_LANGUAGE = "en"

EN: dict[str, str] = {
    "store.name": "Harvest Family Market",
    "nav.label": "Store",
    "nav.cart": "Cart",
    "nav.orders": "My orders",
    "nav.signed_in": "Signed in as",
    "nav.sign_in": "Sign in",
    "nav.sign_out": "Sign out",
    "nav.language": "中文",
    "list.token_label": "Got a password token from the family? Paste it here",
    "list.token_placeholder": "￥K7pQ2mX9aB￥ Open the store app to get ...",
    "list.open": "Open",
    "list.categories": "Categories",
    "list.all": "All",
    "product.shared": "Shared with you by your family.",
    "product.price": "Price",
    "product.your_price": "With your coupon:",
    "product.sign_in_for_price": "to see your price with your family's coupons.",
    "product.add": "Add to cart",
    "cart.title": "Cart",
    "cart.empty": "Your cart is empty.",
    "cart.browse": "Browse products",
    "cart.remove": "Remove",
    "cart.subtotal": "Subtotal",
    "cart.use_credit": "Wallet credit to use (¥)",
    "cart.use_all_credit": "Use all {amount}",
    "cart.check_out": "Check out",
    "signin.title": "Sign in to the store",
    "signin.explain": "Sign in with your Relatives & Friends Save account: your family's coupons "
    "and your wallet credit come with you.",
    "signin.with_kinsave": "Sign in with Relatives & Friends Save (用亲友省钱购登录)",
    "signin.what": "You will agree in the mini app; you can unlink this store there any time.",
    "signin.denied": "You did not agree in the mini app, so you are not signed in.",
    "cart.credit_here": "Your wallet credit here:",
    "checkout.pay_with": "Pay the rest with",
    "checkout.no_method": "The app you came from allows no way to pay the rest here.",
    "method.card": "Bank card",
    "method.alipay": "Alipay",
    "method.wechat_pay": "WeChat Pay",
    "error.shopper_not_linked": "You unlinked this store in the mini app. Sign in again to shop "
    "with your coupons and credit.",
    "error.payment_method_not_allowed": "That way to pay is not allowed here.",
    "error.credit_not_yuan": "Wallet credit is in yuan with at most 2 decimals, like 2.50.",
    "error.signin_state": "This sign-in did not start here (or took too long). Please try again.",
    "error.link_code_invalid": "This sign-in was already used. Please sign in again.",
    "error.link_code_expired": "This sign-in took too long. Please sign in again.",
    "checkout.title": "Checkout",
    "checkout.subtotal": "Subtotal",
    "checkout.coupons": "Coupons",
    "checkout.credit": "Wallet credit",
    "checkout.to_pay": "To pay",
    "checkout.pay": "Pay",
    "orders.title": "My orders",
    "orders.none": "No orders yet.",
    "orders.paid": "paid",
    "orders.saved": "saved",
    "orders.credit": "credit",
    "orders.refunded": "refunded",
    "orders.credit_back": "credit back",
    "orders.refund": "Refund",
    "orders.status.paid": "paid",
    "orders.status.refunded": "refunded",
    "events.title": "Events from kinsave (signed webhooks)",
    "events.none": "No events received yet.",
    "events.event": "Event",
    "events.order": "Order",
    "events.received": "Received",
    "message.back": "Back to the store",
    "error.no_product": "No such product.",
    "error.no_order": "No such order.",
    "error.csrf_failed": "This form has expired. Go back, reload the page and try again.",
    "error.unavailable": "kinsave cannot be reached right now. Try again in a moment.",
    "offer.claimed": "Your family's coupon {name}: claimed, it is in your coupons.",
    "offer.sign_in": "Your family's coupon {name}: sign in to get it.",
    "offer.coupon_sold_out": "Your family's coupon {name}: sold out, every one is taken.",
    "offer.coupon_limit_reached": "Your family's coupon {name}: you already hold all you may.",
    "offer.coupon_expired": "Your family's coupon {name}: it has expired.",
    "offer.coupon_not_claimable": "Your family's coupon {name}: it cannot be claimed right now.",
    "offer.not_found": "Your family's coupon {name}: it is no longer offered.",
    "offer.not_claimed": "Your family's coupon {name}: it could not be claimed.",
    "offer.in_cart": "Your family's coupon, {name}, is applied at checkout.",
    "error.target_unavailable": "What was shared with you is no longer available in this store.",
    "error.token_expired": "This share has expired.",
    "error.token_revoked": "The sender withdrew this share.",
    "error.token_used_up": "This share has been used as often as it may.",
    "error.token_unknown": "This token does not belong to this store.",
    "error.token_not_found_in_text": "No password token found in what you pasted.",
}

ZH: dict[str, str] = {
    "store.name": "丰收家庭超市",
    "nav.label": "商店",
    "nav.cart": "购物车",
    "nav.orders": "我的订单",
    "nav.signed_in": "已登录：",
    "nav.sign_in": "登录",
    "nav.sign_out": "退出登录",
    "nav.language": "English",
    "list.token_label": "家人发来了口令？粘贴到这里",
    "list.token_placeholder": "￥K7pQ2mX9aB￥ 打开商店领取……",
    "list.open": "打开",
    "list.categories": "品类",
    "list.all": "全部",
    "product.shared": "家人分享给你的好物。",
    "product.price": "价格",
    "product.your_price": "用券后：",
    "product.sign_in_for_price": "后查看用上家人优惠券的价格。",
    "product.add": "加入购物车",
    "cart.title": "购物车",
    "cart.empty": "购物车是空的。",
    "cart.browse": "去逛逛",
    "cart.remove": "移除",
    "cart.subtotal": "小计",
    "cart.use_credit": "使用钱包余额（元）",
    "cart.use_all_credit": "全部使用 {amount}",
    "cart.check_out": "去结算",
    "signin.title": "登录商店",
    "signin.explain": "用亲友省钱购账号登录：家人的优惠券和你的钱包余额都能在这里用。",
    "signin.with_kinsave": "用亲友省钱购登录",
    "signin.what": "你将在小程序里确认；随时可以在那里解除与本店的关联。",
    "signin.denied": "你没有在小程序里同意，所以没有登录。",
    "cart.credit_here": "你在本店可用的钱包余额：",
    "checkout.pay_with": "其余部分的支付方式",
    "checkout.no_method": "你来自的应用不允许在这里支付其余部分。",
    "method.card": "银行卡",
    "method.alipay": "支付宝",
    "method.wechat_pay": "微信支付",
    "error.shopper_not_linked": "你已在小程序里解除了与本店的关联。"
    "请重新登录，才能使用优惠券和余额。",
    "error.payment_method_not_allowed": "这里不允许这种支付方式。",
    "error.credit_not_yuan": "钱包余额按元填写，最多两位小数，例如 2.50。",
    "error.signin_state": "这次登录不是从这里开始的（或已超时），请重试。",
    "error.link_code_invalid": "这次登录已经用过，请重新登录。",
    "error.link_code_expired": "这次登录超时，请重新登录。",
    "checkout.title": "结算",
    "checkout.subtotal": "小计",
    "checkout.coupons": "优惠券",
    "checkout.credit": "钱包余额",
    "checkout.to_pay": "应付",
    "checkout.pay": "支付",
    "orders.title": "我的订单",
    "orders.none": "还没有订单。",
    "orders.paid": "实付",
    "orders.saved": "节省",
    "orders.credit": "余额",
    "orders.refunded": "已退款",
    "orders.credit_back": "退回余额",
    "orders.refund": "退款",
    "orders.status.paid": "已支付",
    "orders.status.refunded": "已退款",
    "events.title": "来自 kinsave 的事件（已验签的 Webhook）",
    "events.none": "还没有收到事件。",
    "events.event": "事件",
    "events.order": "订单",
    "events.received": "收到时间",
    "message.back": "返回商店",
    "error.no_product": "没有这件商品。",
    "error.no_order": "没有这个订单。",
    "error.csrf_failed": "表单已过期。请返回、刷新页面后重试。",
    "error.unavailable": "暂时连不上 kinsave，请稍后再试。",
    "offer.claimed": "家人送你的券 {name}: 已领取，在你的优惠券里。",
    "offer.sign_in": "家人送你的券 {name}: 登录后领取。",
    "offer.coupon_sold_out": "家人送你的券 {name}: 已被领完。",
    "offer.coupon_limit_reached": "家人送你的券 {name}: 你已领到上限。",
    "offer.coupon_expired": "家人送你的券 {name}: 已过期。",
    "offer.coupon_not_claimable": "家人送你的券 {name}: 暂时不能领取。",
    "offer.not_found": "家人送你的券 {name}: 已不再发放。",
    "offer.not_claimed": "家人送你的券 {name}: 未能领取。",
    "offer.in_cart": "家人送你的券 {name} 结算时自动使用。",
    "error.target_unavailable": "分享给你的商品或优惠已不在本店出售。",
    "error.token_expired": "这个分享已过期。",
    "error.token_revoked": "分享人已撤回这个分享。",
    "error.token_used_up": "这个分享的使用次数已用完。",
    "error.token_unknown": "这个口令不属于本店。",
    "error.token_not_found_in_text": "粘贴的内容里没有找到口令。",
}

CATALOGS = {"en": EN, "zh-CN": ZH}


def choose_language(cookie: str | None, accept_language: str) -> str:
    """The cookie's choice if any, else the best Accept-Language match, else English."""
    if cookie in CATALOGS:
        return cookie
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((quality, tag.strip().lower()))
    for _quality, tag in sorted(ranked, key=lambda r: -r[0]):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def translator(language: str) -> Callable[[str], str]:
    """A missing key falls back to English, then to the key itself (visible, so it gets fixed)."""
    catalog = CATALOGS.get(language, EN)
    return lambda key: catalog.get(key) or EN.get(key, key)


def other_language(language: str) -> str:
    return "en" if language == "zh-CN" else "zh-CN"
