from geo_app.admin.names import fold, normalise_unit_name, split_name_list


def test_fold_removes_diacritics_and_d_bar():
    assert fold("Tả Gia Khâu") == "ta gia khau"
    assert fold("Đồng  Tuyển") == "dong tuyen"


def test_normalise_unit_name_drops_kind_and_parenthesis():
    assert normalise_unit_name("Phường Nam Cường (thành phố Lào Cai)") == "nam cuong"
    assert normalise_unit_name("Xã Tả Ngài Chồ") == normalise_unit_name("Tả Ngải Chồ")
    assert normalise_unit_name("Thị trấn N.T Phong Hải") == normalise_unit_name("Thị trấn Nông trường Phong Hải")


def test_split_name_list_keeps_parenthesised_commas():
    text = "Phường Nam Cường (thành phố Lào Cai, cũ), Xã A và Xã B"
    assert split_name_list(text) == ["Phường Nam Cường (thành phố Lào Cai, cũ)", "Xã A", "Xã B"]
